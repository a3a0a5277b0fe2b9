package runner

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// faultCall is a call between alice and bob (bob behind bobNAT, 15 ms
// each way) with a timeline and expectations.
func faultCall(t *testing.T, topology, bobNAT, duration, timeline, expect string) *scenarios.Scenario {
	t.Helper()
	src := fmt.Sprintf(`name: faults
topology: %s
duration: %s
participants:
  - name: alice
    nat: port-restricted-cone
    publish: [audio, video]
  - name: bob
    nat: %s
    publish: [audio, video]
    uplink: {delay: 15ms}
    downlink: {delay: 15ms}
timeline:
%s
expect:
%s`, topology, duration, bobNAT, timeline, expect)
	s, err := scenarios.Parse("faults.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func logFaults(t *testing.T, rep *reports.Report) {
	t.Helper()
	for _, e := range rep.Events {
		switch e.Kind {
		case "fault", "recovered", "not-recovered", "stopped", "started", "ice-restart", "dropped", "republish",
			"signaling-lost", "signaling-rejoined", "error", "media-silent", "rebound", "glare", "rollback":
			t.Logf("%7.3f %s %s %s", e.T, e.Source, e.Kind, e.Detail)
		}
	}
}

// events returns the events of kind from source ("" any), in order.
func events(rep *reports.Report, source, kind string) []string {
	var out []string
	for _, e := range rep.Events {
		if e.Kind == kind && (source == "" || e.Source == source) {
			out = append(out, fmt.Sprintf("%.3f %s", e.T, e.Detail))
		}
	}
	return out
}

// checkRecovered checks that every stream recovered within [lo, hi] ms,
// that media was flowing at the end (no video frozen to the end of the
// call, in any incarnation of the stream), and that the scenario's own
// recovery_ms check passed.
func checkRecovered(t *testing.T, rep *reports.Report, lo, hi float64) {
	t.Helper()
	if len(rep.Streams) < 4 {
		t.Fatalf("%d streams, want at least 4", len(rep.Streams))
	}
	for _, st := range rep.Streams {
		name := fmt.Sprintf("%s->%s %s", st.From, st.To, st.Kind)
		if st.RecoveryMS == nil {
			t.Errorf("%s: no recovery_ms", name)
			continue
		}
		if v := *st.RecoveryMS; v < lo || v > hi {
			t.Errorf("%s: recovery %.1f ms, want %.0f..%.0f", name, v, lo, hi)
		}
		if st.Video != nil {
			for _, f := range st.Video.Freezes {
				if end := f.StartS + f.DurationMS/1000; end > rep.Scenario.DurationS-0.5 {
					t.Errorf("%s: frozen from %.2fs to the end", name, f.StartS)
				}
			}
		}
	}
	n := 0
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.Name, "recovery_ms") {
			n++
			if c.Verdict != "pass" {
				t.Errorf("check %s: %s (%v)", c.Name, c.Verdict, ptrOr(c.Value, math.NaN()))
			}
		}
	}
	if n == 0 {
		t.Error("no recovery_ms check was evaluated")
	}
}

// A server restarted mid-call: its state (TURN allocations, the SFU's
// PeerConnections, signaling sessions) is gone, and the clients get media
// flowing again the way real ones do. The bounds follow from the clients'
// timers: a restart after 500 ms; ICE restarted after 3 s without media
// (TURN: the relay allocation is gone, and relay is bob's only path); an
// SFU back after 500 ms is offered to at once; signaling carries no media.
func TestFaultServerRestarts(t *testing.T) {
	tests := []struct {
		name, nat, timeline string
		lo, hi              float64
		want                []string // event kinds that must appear
	}{
		{"turn, relay the only path", "udp-blocked", "  - {at: 6s, restart: turn}", 3000, 8000, []string{"ice-restart", "media-silent"}},
		{"sfu", "port-restricted-cone", "  - {at: 6s, restart: sfu}", 500, 1500, []string{"dropped", "republish"}},
		{"signaling", "port-restricted-cone", "  - {at: 6s, restart: signaling}", 0, 100, []string{"signaling-lost", "signaling-rejoined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := faultCall(t, "sfu", tt.nat, "14s", tt.timeline, fmt.Sprintf("  - {metric: recovery_ms, max: %g}\n", tt.hi))
			rep, err := runVirtual(t, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			logFaults(t, rep)
			checkRecovered(t, rep, tt.lo, tt.hi)
			for _, k := range tt.want {
				if len(events(rep, "", k)) == 0 {
					t.Errorf("no %s event", k)
				}
			}
			if tt.name == "sfu" {
				// The streams on the new connections are numbered, with
				// series of their own: one point per sample in each.
				for _, want := range []string{"bitrate alice->bob audio", "bitrate alice->bob audio #2"} {
					n, last := 0, -1.0
					for _, se := range rep.Series {
						if se.Name != want {
							continue
						}
						n++
						for _, p := range se.Points {
							if p.T <= last {
								t.Errorf("%s: a point at %.3f s after one at %.3f s", want, p.T, last)
							}
							last = p.T
						}
					}
					if n != 1 {
						t.Errorf("%d series %q, want 1", n, want)
					}
				}
				if st := stream(t, rep, "alice", "bob", "video"); st.Connection != 0 {
					t.Errorf("first connection numbered %d", st.Connection)
				}
				second := 0
				for _, st := range rep.Streams {
					if st.Connection == 2 {
						second++
					}
				}
				if second != 4 {
					t.Errorf("%d streams on a second connection, want 4", second)
				}
			}
			if len(events(rep, "runner", "recovered")) < 4 {
				t.Errorf("recovered events %v, want one per stream", events(rep, "runner", "recovered"))
			}
		})
	}
}

// Peer to peer through a relay (bob behind a symmetric NAT, alice behind a
// port-restricted cone: RFC 4787 leaves only the relay): a TURN restart
// and a rebinding of bob's NAT both leave alice hearing nothing; alice,
// whose name sorts first, restarts ICE after 3 s of silence (bob would
// wait 6 s), and the call runs on a new relay allocation or mapping. A
// signaling restart costs no media, and the room works again after it.
func TestFaultP2PRelay(t *testing.T) {
	tests := []struct {
		timeline            string
		lo, hi              float64
		restarter, quiet    string // who restarts ICE, who must not
		signalingRejoinedBy []string
	}{
		{"  - {at: 6s, restart: turn}", 3000, 5000, "alice", "bob", nil},
		{"  - {at: 6s, rebind: bob}", 3000, 5000, "alice", "bob", nil},
		// The ICE restart bob asks for after a signaling restart crosses
		// the new server: both ends rejoined it.
		{"  - {at: 4s, restart: signaling}\n  - {at: 8s, ice_restart: bob}", 0, 500, "bob", "alice", []string{"alice", "bob"}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSpace(tt.timeline), func(t *testing.T) {
			rep, err := runVirtual(t, faultCall(t, "p2p", "symmetric", "14s", tt.timeline, fmt.Sprintf("  - {metric: recovery_ms, max: %g}\n", tt.hi)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			logFaults(t, rep)
			if ev := events(rep, tt.restarter, "ice-restart"); len(ev) != 1 {
				t.Errorf("%s's ICE restarts %v, want 1", tt.restarter, ev)
			}
			if ev := events(rep, tt.quiet, "ice-restart"); len(ev) != 0 {
				t.Errorf("%s restarted ICE too (glare): %v", tt.quiet, ev)
			}
			for _, who := range tt.signalingRejoinedBy {
				if len(events(rep, who, "signaling-rejoined")) != 1 {
					t.Errorf("%s did not rejoin signaling once", who)
				}
			}
			for _, p := range rep.Participants {
				if sp := p.SelectedPair; sp == nil || (sp.Local != "relay" && sp.Remote != "relay") {
					t.Errorf("%s: pair %+v, want a relay", p.Name, sp)
				}
			}
			checkRecovered(t, rep, tt.lo, tt.hi)
		})
	}
}

// After a signaling restart the room works again: an ICE restart bob asks
// for later is negotiated through the new server, and the SFU and both
// clients rejoined it.
func TestFaultSignalingRestartThenNegotiate(t *testing.T) {
	s := faultCall(t, "sfu", "port-restricted-cone", "12s", "  - {at: 4s, restart: signaling}\n  - {at: 8s, ice_restart: bob}",
		"  - {metric: recovery_ms, max: 500}\n")
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	logFaults(t, rep)
	for _, who := range []string{"alice", "bob", "sfu"} {
		if len(events(rep, who, "signaling-rejoined")) != 1 {
			t.Errorf("%s rejoined %v, want once", who, events(rep, who, "signaling-rejoined"))
		}
	}
	// The ICE restart's offer crossed the new server: bob went through
	// connecting back to connected after 8 s.
	reconnected := false
	for _, e := range rep.Events {
		if e.T >= 8 && e.Source == "bob" && e.Kind == "connection-state" && e.Detail == "sfu: connected" {
			reconnected = true
		}
	}
	if !reconnected {
		t.Errorf("bob never reconnected after the ICE restart; events %v", events(rep, "bob", "connection-state"))
	}
	checkRecovered(t, rep, 0, 500)
}

// A client's ICE restart (a network change) and a NAT rebinding: after a
// rebinding bob's consent checks still pass but the SFU keeps sending to
// the old mapping, so bob hears nothing until his media watchdog restarts
// ICE (3 s). His own media reaches the SFU from the new port at once.
func TestFaultICERestartAndRebind(t *testing.T) {
	t.Run("ice restart", func(t *testing.T) {
		rep, err := runVirtual(t, faultCall(t, "sfu", "port-restricted-cone", "12s", "  - {at: 6s, ice_restart: bob}", "  - {metric: recovery_ms, max: 500}\n"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		logFaults(t, rep)
		if ev := events(rep, "bob", "ice-restart"); len(ev) != 1 {
			t.Errorf("bob's ICE restarts %v, want 1", ev)
		}
		checkRecovered(t, rep, 0, 500)
	})
	t.Run("rebind", func(t *testing.T) {
		rep, err := runVirtual(t, faultCall(t, "sfu", "port-restricted-cone", "14s", "  - {at: 6s, rebind: bob}", "  - {metric: recovery_ms, max: 5000}\n"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		logFaults(t, rep)
		if ev := events(rep, "bob", "rebound"); len(ev) != 1 || !strings.Contains(ev[0], "sockets changed") {
			t.Errorf("rebound events %v", ev)
		}
		if len(events(rep, "bob", "media-silent")) == 0 || len(events(rep, "bob", "ice-restart")) == 0 {
			t.Error("bob did not restart ICE after the rebinding")
		}
		checkRecovered(t, rep, 0, 5000)
		down := stream(t, rep, "alice", "bob", "audio")
		up := stream(t, rep, "bob", "alice", "audio")
		if *down.RecoveryMS < 3000 || *up.RecoveryMS > 500 {
			t.Errorf("recovery to bob %.0f ms (want ≥ 3000: the watchdog's silence), from bob %.0f ms (want < 500)", *down.RecoveryMS, *up.RecoveryMS)
		}
	})
}

// The case that breaks the metric: bob's link goes down 6 s into the call
// and stays down to the end. No stream of his recovers: recovery_ms is
// absent, a not-recovered event says how long media was gone, and the
// check fails. A flap that ends recovers in about its length.
func TestFaultFlapRecoveryAndOutageToTheEnd(t *testing.T) {
	t.Run("flap 2s", func(t *testing.T) {
		rep, err := runVirtual(t, faultCall(t, "sfu", "port-restricted-cone", "12s", "  - {at: 6s, flap: bob, for: 2s}", "  - {metric: recovery_ms, max: 2500}\n"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		logFaults(t, rep)
		checkRecovered(t, rep, 2000, 2500)
	})
	t.Run("down to the end", func(t *testing.T) {
		rep, err := runVirtual(t, faultCall(t, "sfu", "port-restricted-cone", "12s", "  - {at: 6s, flap: bob, for: 1m}", "  - {metric: recovery_ms, max: 5000}\n"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		logFaults(t, rep)
		if ev := events(rep, "runner", "not-recovered"); len(ev) != 4 {
			t.Errorf("not-recovered events %v, want one per stream", ev)
		}
		for _, st := range rep.Streams {
			if st.RecoveryMS != nil {
				t.Errorf("%s->%s %s: recovery %.1f ms, want none", st.From, st.To, st.Kind, *st.RecoveryMS)
			}
		}
		failed := 0
		for _, c := range rep.Checks {
			if strings.HasPrefix(c.Name, "recovery_ms") {
				if c.Verdict != "fail" || c.Value != nil {
					t.Errorf("check %s: %s %v, want a failure without a value", c.Name, c.Verdict, c.Value)
				}
				failed++
			}
		}
		if failed != 4 || rep.Verdict != "fail" {
			t.Errorf("%d recovery checks failed, verdict %s; want 4, fail", failed, rep.Verdict)
		}
	})
}

// The built-in server-restarts scenario: each of its three restarts is
// recovered from on every stream (the catalogue checks its bounds).
func TestFaultBuiltinServerRestarts(t *testing.T) {
	rep, err := runVirtual(t, mustLoad(t, "server-restarts"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	logFaults(t, rep)
	for _, fault := range []string{"restart signaling", "restart sfu", "restart turn"} {
		n := 0
		for _, e := range events(rep, "runner", "recovered") {
			if strings.Contains(e, " after "+fault+" ") {
				n++
			}
		}
		if n != 4 {
			t.Errorf("%s: %d streams recovered, want 4", fault, n)
		}
	}
	if ev := events(rep, "runner", "not-recovered"); len(ev) > 0 {
		t.Errorf("not recovered: %v", ev)
	}
	if rep.Verdict != "pass" {
		t.Errorf("verdict %s", rep.Verdict)
	}
	// Each incarnation of a stream is timed against its own sender: the
	// publisher's connection to the SFU it came through (15 ms + the SFU
	// hop + jitter buffer, not the 8.5 s the first connection's RTP
	// timestamps gave the second).
	for _, st := range rep.Streams {
		if st.Audio != nil && st.Audio.MouthToEarMS > 200 {
			t.Errorf("%s->%s audio: mouth-to-ear %.0f ms", st.From, st.To, st.Audio.MouthToEarMS)
		}
	}
}

// Both ends restart ICE at one instant (RFC 8829 section 4.1.8.1: glare):
// their offers cross. Perfect negotiation settles it (stack/agent
// glare.go): the polite end (in p2p the one whose name sorts last; every
// client towards the SFU) rolls its offer back and answers the other's,
// the impolite end ignores the offer that collided with its own. Media
// recovers on every stream, and recovery_ms says how fast. Without it
// both offers fail (have-local-offer cannot take a remote offer) and
// neither end's restart completes.
func TestFaultICERestartGlare(t *testing.T) {
	tests := []struct {
		name, topology, nat string
		polite              string // who rolls back
		relay               bool   // the pair at the end is a relay's
	}{
		{"p2p", "p2p", "port-restricted-cone", "bob", false},
		{"p2p through the relay", "p2p", "symmetric", "bob", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := faultCall(t, tt.topology, tt.nat, "12s", "  - {at: 6s, ice_restart: alice}\n  - {at: 6s, ice_restart: bob}",
				"  - {metric: recovery_ms, max: 1000}\n")
			rep, err := runVirtual(t, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			logFaults(t, rep)
			impolite := "alice"
			if tt.polite == "alice" {
				impolite = "bob"
			}
			for _, who := range []string{"alice", "bob"} {
				if ev := events(rep, who, "ice-restart"); len(ev) != 1 {
					t.Errorf("%s's ICE restarts %v, want 1", who, ev)
				}
				if ev := events(rep, who, "error"); len(ev) != 0 {
					t.Errorf("%s's errors: %v", who, ev)
				}
			}
			if ev := events(rep, tt.polite, "rollback"); len(ev) != 1 {
				t.Errorf("%s's rollbacks %v, want 1", tt.polite, ev)
			}
			if ev := events(rep, impolite, "glare"); len(ev) != 1 {
				t.Errorf("%s's ignored offers %v, want 1", impolite, ev)
			}
			for _, p := range rep.Participants {
				if sp := p.SelectedPair; sp == nil || (tt.relay != (sp.Local == "relay" || sp.Remote == "relay")) {
					t.Errorf("%s: pair %+v, relay %v wanted", p.Name, sp, tt.relay)
				}
			}
			checkRecovered(t, rep, 0, 1000)
		})
	}
}
