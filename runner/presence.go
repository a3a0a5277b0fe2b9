package runner

import (
	"fmt"
	"strings"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
)

// presence is how much of the scenario a participant was in the call,
// read from the run's events.
type presence struct {
	// fraction is the share of the scenario's duration its PeerConnection
	// was connected (and, through the SFU, the SFU still served it).
	fraction float64
	// stayed is true when it connected and stayed connected to the end.
	stayed bool
	// drop is the first time it left "connected" before the end; nil
	// when it never did.
	drop *reports.Drop
}

// measurePresence walks events in order for participant name, whose
// PeerConnection goes to remote, over [0, duration] seconds. It is
// connected from its PeerConnection's "connected" until the PeerConnection
// leaves that state or the SFU drops it ("peer-removed", "peer-failed");
// connecting again (an ICE restart) pauses it without a drop. A lost
// signaling connection is named as the cause of the drop that follows it.
func measurePresence(events []analysis.Event, name, remote string, duration float64) presence {
	var (
		out   presence
		up    bool
		since float64
		cause string
		total float64
	)
	down := func(t float64, reason string) {
		if up {
			total += t - since
			up = false
		}
		if out.drop == nil {
			if cause != "" {
				reason += " after " + cause
			}
			out.drop = &reports.Drop{AtS: round(t, 3), Reason: reason}
		}
	}
	for _, e := range events {
		if e.T > duration {
			break
		}
		switch {
		case e.Source == name && e.Kind == "connection-state" && strings.HasPrefix(e.Detail, remote+": "):
			switch state := strings.TrimPrefix(e.Detail, remote+": "); state {
			case "connected":
				if !up {
					up, since = true, e.T
				}
			case "disconnected", "failed", "closed":
				if up {
					down(e.T, "PeerConnection "+state)
				}
			case "connecting", "new":
				// An ICE restart (the client's, after 3 s without media
				// or 2 s disconnected) takes pion's PeerConnection from
				// connected to connecting until the new checks succeed:
				// not connected, so not counted, but no drop either, as
				// the call goes on on its own (`connected` stays 1). A
				// viewer whose link was down 8 s read 99.4 % present for
				// 4.7 s in connecting.
				if up {
					total += e.T - since
					up = false
				}
			}
		case e.Source == name && e.Kind == "signaling-lost":
			if cause == "" {
				cause = fmt.Sprintf("signaling lost at %.3fs", e.T)
			}
		case e.Source == "sfu" && (e.Kind == "peer-removed" || e.Kind == "peer-failed") && strings.HasPrefix(e.Detail, name+": "):
			if up {
				down(e.T, "SFU "+e.Kind+": "+strings.TrimPrefix(e.Detail, name+": "))
			}
		}
	}
	if up {
		total += duration - since
	}
	out.stayed = up && out.drop == nil
	if duration > 0 {
		out.fraction = round(total/duration, 4)
	}
	return out
}

// deliveryChecks are the checks every run gets, whatever it declares:
// each participant receives every stream it should, that is each other
// participant's published media, less the tracks the SFU refused for want
// of a common codec. A run where nobody received anything fails here.
func (r *run) deliveryChecks(rep *reports.Report) []analysis.Check {
	var out []analysis.Check
	for _, sub := range r.s.Participants {
		expected := 0
		for _, pub := range r.s.Participants {
			if pub.Name == sub.Name {
				continue
			}
			for _, kind := range pub.Publish {
				// An explicit packets_received expectation on the stream
				// replaces this check, as it replaces carriedNothing's.
				st := reports.Stream{From: pub.Name, To: sub.Name, Kind: kind}
				if !refused(rep.Negotiations, pub.Name, sub.Name, kind) && !explicitlyChecked(r.s.Expect, "packets_received", st) {
					expected++
				}
			}
		}
		if expected == 0 {
			continue
		}
		got := 0
		for _, st := range rep.Streams {
			if st.To == sub.Name && st.PacketsReceived > 0 && !explicitlyChecked(r.s.Expect, "packets_received", st) {
				got++
			}
		}
		e := float64(expected)
		out = append(out, analysis.Evaluate(fmt.Sprintf("%s streams_received", sub.Name), float64(got), analysis.Bound{Min: &e}))
	}
	return out
}

func refused(negs []reports.Negotiation, pub, sub, kind string) bool {
	for _, n := range negs {
		if n.Publisher == pub && n.Subscriber == sub && n.Kind == kind && !n.OK {
			return true
		}
	}
	return false
}
