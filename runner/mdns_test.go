package runner

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// insideAddresses reads each participant's own address from the runner's
// "joined" events ("10.0.1.2 behind ..."), independent of the privacy
// watch.
func insideAddresses(t *testing.T, rep *reports.Report) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range rep.Events {
		if f := strings.Fields(e.Detail); e.Kind == "joined" && len(f) > 0 {
			if _, err := netip.ParseAddr(f[0]); err == nil {
				out[e.Source] = f[0]
			}
		}
	}
	if len(out) != len(rep.Participants) {
		t.Fatalf("inside addresses %v for %d participants", out, len(rep.Participants))
	}
	return out
}

// sawViaCandidate lists the addresses party saw of whose in candidates.
func sawViaCandidate(rep *reports.Report, partyName, whose string) []reports.SeenAddress {
	var out []reports.SeenAddress
	for _, a := range party(rep, partyName) {
		if a.Whose == whose && !a.Relay && slices.Contains(a.Via, reports.ViaCandidate) {
			out = append(out, a)
		}
	}
	return out
}

func hasEvent(rep *reports.Report, source, kind, detail string) bool {
	return slices.ContainsFunc(rep.Events, func(e analysis.Event) bool {
		return e.Source == source && e.Kind == kind && strings.Contains(e.Detail, detail)
	})
}

// The built-in privacy set (rtclab run privacy): every scenario passes its
// own checks, and each shows what it is there to show, counted against
// the runner's own record of the hosts' addresses and the agents' events.
func TestPrivacySet(t *testing.T) {
	names := scenarios.BuiltinGroup(scenarios.Privacy)
	if len(names) < 8 {
		t.Fatalf("privacy set: %v", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			rep := runPrivacy(t, mustLoad(t, name))
			if rep.Verdict != "pass" {
				for _, c := range rep.Checks {
					if c.Value != nil {
						t.Logf("check %s = %g (%s): %s", c.Name, *c.Value, c.Threshold, c.Verdict)
					}
				}
				t.Fatalf("verdict %s", rep.Verdict)
			}
			inside := insideAddresses(t, rep)
			public := publicAddresses(t, rep)
			pairs := map[string]*reports.CandidatePair{}
			for _, p := range rep.Participants {
				pairs[p.Name] = p.SelectedPair
			}
			other := map[string]string{"alice": "bob", "bob": "alice"}
			switch strings.TrimPrefix(name, "privacy/") {
			case "p2p-direct":
				// What mDNS is for: the peer learns the private address.
				for me, peer := range other {
					if !saw(rep, peer, me, inside[me], reports.ViaCandidate) {
						t.Errorf("%s did not see %s's private address %s in a candidate", peer, me, inside[me])
					}
				}
			case "mdns-wan", "mdns-lan":
				for me, peer := range other {
					for _, p := range []string{peer, "signaling"} {
						got := sawViaCandidate(rep, p, me)
						if !slices.ContainsFunc(got, func(a reports.SeenAddress) bool { return a.Class == reports.ClassMDNS }) {
							t.Errorf("%s saw no .local name of %s: %+v", p, me, got)
						}
						if slices.ContainsFunc(got, func(a reports.SeenAddress) bool { return a.Address == inside[me] }) {
							t.Errorf("%s saw %s's private address %s in a candidate despite mDNS", p, me, inside[me])
						}
					}
				}
				if name == "privacy/mdns-lan" {
					for me, peer := range other {
						// A check that came before the name resolved made the
						// pair peer-reflexive first (draft section 4, second
						// example); the runner matches it with the candidate.
						sp := pairs[me]
						if sp == nil || sp.Local != "host" || sp.Remote != "host" && sp.RemoteSignalled != "host" || !strings.HasPrefix(sp.RemoteAddress, inside[peer]+":") {
							t.Errorf("%s's pair %+v: want host to host, to %s's resolved address %s", me, sp, peer, inside[peer])
						}
						if !hasEvent(rep, me, "mdns-resolved", peer+": ") {
							t.Errorf("%s resolved no .local name", me)
						}
					}
					// One NAT, one outside address: the TURN server saw it as
					// both participants' (it was credited to the last host).
					for _, me := range []string{"alice", "bob"} {
						if !saw(rep, scenarios.TURNHost, me, public[me], reports.ViaAllocation) {
							t.Errorf("turn did not see %s's outside address %s", me, public[me])
						}
					}
				} else {
					for me := range other {
						if sp := pairs[me]; sp == nil || sp.Remote == "host" || sp.Remote == "relay" || sp.Local == "relay" {
							t.Errorf("%s's pair %+v: want direct through the NATs (srflx or prflx)", me, sp)
						}
					}
				}
			case "mdns-strip", "mdns-reject":
				for _, p := range rep.Participants {
					if p.RemoteCandidates == nil || p.RemoteCandidates.Host != 0 {
						t.Errorf("%s got remote host candidates %+v through a .local-%s server", p.Name, p.RemoteCandidates, name)
					}
					if sp := p.SelectedPair; sp == nil || sp.Local == "host" && sp.Remote == "host" {
						t.Errorf("%s's pair %+v: the host pair must be lost", p.Name, sp)
					}
				}
				// The server learnt the names it dropped; the peer did not.
				for me, peer := range other {
					isName := func(a reports.SeenAddress) bool { return a.Class == reports.ClassMDNS }
					if !slices.ContainsFunc(sawViaCandidate(rep, "signaling", me), isName) {
						t.Errorf("signaling saw no .local name of %s", me)
					}
					if slices.ContainsFunc(sawViaCandidate(rep, peer, me), isName) {
						t.Errorf("%s got %s's .local name through a server that drops them", peer, me)
					}
				}
				if name == "privacy/mdns-reject" {
					for me := range other {
						if !hasEvent(rep, me, "error", "refused: a .local (mDNS) ICE candidate") {
							t.Errorf("%s recorded no refusal", me)
						}
					}
				}
			case "relay-only":
				for me, peer := range other {
					for _, a := range party(rep, peer) {
						if a.Whose == me && !a.Relay {
							t.Errorf("%s saw %s's %s with relay_only", peer, me, a.Address)
						}
					}
				}
			case "turn-p2p":
				h, ok := privacyHop(rep, scenarios.TURNHost)
				if !ok || h.VideoPackets == 0 || h.Readable || h.Keyframes != 0 {
					t.Errorf("turn hop %+v: want video examined and none readable", h)
				}
			case "sfu":
				h, ok := privacyHop(rep, scenarios.SFUHost)
				if !ok || !h.Readable || h.Keyframes == 0 {
					t.Errorf("sfu hop %+v: want readable keyframes", h)
				}
			case "e2ee-sfu":
				// TestE2EEBuiltin checks the rest (layers, eve).
				if h, ok := privacyHop(rep, scenarios.SFUHost); !ok || h.Readable || h.KeyframesTried == 0 {
					t.Errorf("sfu hop %+v: want keyframes tried, none readable", h)
				}
			default:
				t.Errorf("no expectations for %s", name)
			}
		})
	}
}

// A .local-stripping or -refusing signaling server gives the outcome the
// matrix's mDNS slice predicts (matrix/mdns.go): across NATs it changes
// nothing (nobody could resolve the names anyway); on one LAN the host
// pair is lost, so a cone NAT is crossed through its outside address and
// a symmetric one needs a relay; without TURN the call fails, and each
// agent has recorded the refusal.
func TestMDNSSignalingOutcomes(t *testing.T) {
	tests := []struct {
		name, base string
		edits      []string
		connected  bool
		path       func(*reports.CandidatePair) bool
	}{
		{"strip across NATs", "privacy/mdns-wan", []string{"ice: {turn_tcp: false}", "ice: {turn_tcp: false}\nservers: {signaling: {mdns: strip}}"}, true,
			func(p *reports.CandidatePair) bool {
				return p.Local == "host" && (p.Remote == "prflx" || p.Remote == "srflx")
			}},
		{"strip on one LAN", "privacy/mdns-strip", nil, true,
			func(p *reports.CandidatePair) bool {
				return p.Local == "host" && p.Remote == "prflx" && p.RemoteSignalled != "host"
			}},
		{"reject on one symmetric LAN, no TURN", "privacy/mdns-reject", []string{"ice: {turn_tcp: false}", "ice: {turn: false}", "  - metric: connected\n    min: 1\n  - metric: relayed\n    min: 1\n", "  - metric: connected\n    max: 0\n"}, false,
			func(p *reports.CandidatePair) bool { return p == nil }},
		// The control: the same call through a server that passes the
		// names on connects host to host over them.
		{"relay on one symmetric LAN, no TURN", "privacy/mdns-reject", []string{"ice: {turn_tcp: false}", "ice: {turn: false}", "servers:\n  signaling:\n    mdns: reject\n", "", "  - metric: relayed\n    min: 1\n", ""}, true,
			func(p *reports.CandidatePair) bool {
				return p.Local == "host" && (p.Remote == "host" || p.RemoteSignalled == "host")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runPrivacy(t, privacyScenario(t, tt.base, "", tt.edits...))
			for _, p := range rep.Participants {
				if p.Connected != tt.connected || !tt.path(p.SelectedPair) {
					t.Errorf("%s: connected %v, pair %+v", p.Name, p.Connected, p.SelectedPair)
				}
				if strings.Contains(tt.name, "reject") && !hasEvent(rep, p.Name, "error", "refused: a .local (mDNS) ICE candidate") {
					t.Errorf("%s recorded no refusal", p.Name)
				}
			}
		})
	}
}
