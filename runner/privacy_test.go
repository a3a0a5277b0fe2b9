package runner

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// privacyScenario is built-in scenario name shortened to 8 s, edited by
// the replacements (old, new pairs) and with extra YAML appended.
func privacyScenario(t *testing.T, name, extra string, replace ...string) *scenarios.Scenario {
	t.Helper()
	data, ok := scenarios.BuiltinYAML(name)
	if !ok {
		t.Fatalf("no built-in %s", name)
	}
	y := regexp.MustCompile(`(?m)^duration: .*$`).ReplaceAllString(string(data), "duration: 8s")
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(y, replace[i]) {
			t.Fatalf("%s has no %q", name, replace[i])
		}
		y = strings.Replace(y, replace[i], replace[i+1], 1)
	}
	s, err := scenarios.Parse(name+".yaml", []byte(y+extra))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publicAddresses reads each participant's NAT address from the runner's
// "joined" events ("10.0.1.2 behind ... NAT (public 203.0.113.10)"): a
// count independent of the privacy watch.
func publicAddresses(t *testing.T, rep *reports.Report) map[string]string {
	t.Helper()
	re := regexp.MustCompile(`\(public ([0-9.]+)\)`)
	out := map[string]string{}
	for _, e := range rep.Events {
		if m := re.FindStringSubmatch(e.Detail); e.Kind == "joined" && m != nil {
			out[e.Source] = m[1]
		}
	}
	if len(out) != len(rep.Participants) {
		t.Fatalf("public addresses %v for %d participants", out, len(rep.Participants))
	}
	return out
}

func party(rep *reports.Report, name string) []reports.SeenAddress {
	for _, p := range rep.Privacy.Parties {
		if p.Party == name {
			return p.Saw
		}
	}
	return nil
}

// saw reports whether party saw address of whose (not as a relay) by via.
func saw(rep *reports.Report, partyName, whose, address, via string) bool {
	return slices.ContainsFunc(party(rep, partyName), func(a reports.SeenAddress) bool {
		return a.Whose == whose && a.Address == address && !a.Relay && slices.Contains(a.Via, via)
	})
}

func privacyHop(rep *reports.Report, name string) (reports.PrivacyHop, bool) {
	for _, h := range rep.Privacy.Hops {
		if h.Hop == name {
			return h, true
		}
	}
	return reports.PrivacyHop{}, false
}

func runPrivacy(t *testing.T, s *scenarios.Scenario) *reports.Report {
	t.Helper()
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Privacy == nil {
		t.Fatal("no privacy section")
	}
	return rep
}

// Through the SFU the participants see only the SFU (and the TURN server
// they allocated on); the SFU, the signaling server and the TURN server
// see both participants; the SFU reads the video.
func TestPrivacySFU(t *testing.T) {
	rep := runPrivacy(t, privacyScenario(t, "quickstart", ""))
	pub := publicAddresses(t, rep)
	for _, p := range []string{"alice", "bob"} {
		if !saw(rep, "sfu", p, pub[p], reports.ViaPacket) {
			t.Errorf("the SFU did not see %s's public address %s in packets: %+v", p, pub[p], party(rep, "sfu"))
		}
		if !saw(rep, "turn", p, pub[p], reports.ViaAllocation) {
			t.Errorf("the TURN server did not see %s's allocation from %s: %+v", p, pub[p], party(rep, "turn"))
		}
		if !saw(rep, "signaling", p, pub[p], reports.ViaCandidate) {
			t.Errorf("signaling did not relay %s's srflx candidate %s: %+v", p, pub[p], party(rep, "signaling"))
		}
		for _, a := range party(rep, p) {
			if a.Whose != scenarios.SFUHost && a.Whose != scenarios.TURNHost {
				t.Errorf("%s saw %+v: through an SFU a participant sees only servers", p, a)
			}
		}
		if n := rep.Privacy.ExposedAddresses(p); n != 0 {
			t.Errorf("%s: %d addresses exposed to the other participant, want 0", p, n)
		}
	}
	if !slices.ContainsFunc(party(rep, "alice"), func(a reports.SeenAddress) bool { return a.Whose == scenarios.SFUHost }) {
		t.Errorf("alice did not see the SFU: %+v", party(rep, "alice"))
	}
	h, ok := privacyHop(rep, scenarios.SFUHost)
	if !ok || !h.Readable || h.VideoPackets == 0 {
		t.Errorf("SFU hop %+v: it terminates DTLS-SRTP and must read the VP8 keyframes", h)
	}
}

// Peer to peer each participant learns the other's addresses from the
// candidates, its public NAT mapping at least, even when the media goes
// through the relay; the relay carries ciphertext.
func TestPrivacyP2P(t *testing.T) {
	rep := runPrivacy(t, privacyScenario(t, "quickstart-p2p", ""))
	pub := publicAddresses(t, rep)
	for p, other := range map[string]string{"alice": "bob", "bob": "alice"} {
		if !saw(rep, p, other, pub[other], reports.ViaCandidate) {
			t.Errorf("%s did not see %s's public address %s: %+v", p, other, pub[other], party(rep, p))
		}
		if n := rep.Privacy.ExposedAddresses(other); n < 1 {
			t.Errorf("%s: %d addresses exposed, want at least its NAT mapping", other, n)
		}
	}
	h, ok := privacyHop(rep, scenarios.TURNHost)
	if !ok || h.VideoPackets < 100 || h.Readable || h.Keyframes != 0 {
		t.Errorf("TURN hop %+v: want SRTP, no VP8 keyframe readable in 100+ video packets", h)
	}
	// Every original video packet of the call crossed the relay: the
	// count at the TURN server's host is the publishers' send count.
	sent := 0
	for _, s := range rep.Streams {
		if s.Kind == "video" {
			sent += int(s.PacketsSent)
		}
	}
	if h.VideoPackets != sent {
		t.Errorf("TURN relayed %d VP8 packets; the publishers sent %d", h.VideoPackets, sent)
	}
}

// The TURN server relays bob's SRTP over TCP to the SFU: it reads no
// frame but sees the header extensions; the SFU behind it reads them.
func TestPrivacyTURNSeesCiphertext(t *testing.T) {
	rep := runPrivacy(t, privacyScenario(t, "udp-blocked", ""))
	h, ok := privacyHop(rep, scenarios.TURNHost)
	if !ok || h.VideoPackets < 100 || h.Readable {
		t.Errorf("TURN hop %+v: want 100+ video packets, none readable", h)
	}
	if s, ok := privacyHop(rep, scenarios.SFUHost); !ok || !s.Readable {
		t.Errorf("SFU hop %+v: want readable", s)
	}
	if !slices.ContainsFunc(rep.Privacy.ClearExtensions, func(u string) bool { return strings.Contains(u, "transport-wide-cc") }) {
		t.Errorf("clear header extensions %v: want transport-cc, which the SFU's packets carry", rep.Privacy.ClearExtensions)
	}
}

// relay_only hides a participant's addresses from the other party; the
// same check on a call that may use any candidate fails.
func TestPrivacyRelayOnly(t *testing.T) {
	const expect = "  - metric: addresses_exposed\n    max: 0\n"
	for _, tc := range []struct {
		name      string
		relayOnly bool
		pass      bool
	}{
		{"relay only", true, true},
		{"any candidate", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var edit []string
			if tc.relayOnly {
				edit = []string{"ice:\n", "ice:\n  relay_only: true\n"}
			}
			rep := runPrivacy(t, privacyScenario(t, "quickstart-p2p", expect, edit...))
			var checks []analysis.Check
			for _, c := range rep.Checks {
				if strings.HasSuffix(c.Name, " addresses_exposed") {
					checks = append(checks, c)
				}
			}
			if len(checks) != 2 {
				t.Fatalf("addresses_exposed checks %+v, want one per participant", checks)
			}
			for _, c := range checks {
				if got := c.Verdict == analysis.Pass; got != tc.pass {
					t.Errorf("%s: verdict %s (value %v), want pass %v; privacy %+v", c.Name, c.Verdict, c.Value, tc.pass, rep.Privacy.Parties)
				}
			}
			if !tc.relayOnly {
				return
			}
			for _, p := range rep.Participants {
				if !p.Connected || p.SelectedPair == nil || p.SelectedPair.Local != "relay" {
					t.Errorf("%s: connected %v pair %+v: relay_only must still connect, through the relay", p.Name, p.Connected, p.SelectedPair)
				}
			}
			for _, p := range []string{"alice", "bob"} {
				for _, a := range party(rep, p) {
					if !a.Relay && a.Whose != scenarios.TURNHost {
						t.Errorf("%s saw %+v with relay_only: want only relay addresses", p, a)
					}
				}
			}
		})
	}
}

func TestVP8Keyframe(t *testing.T) {
	// A key frame's first packet: descriptor S=1 PID=0, frame tag with the
	// key frame bit 0 (RFC 6386 section 9.1), start code 9d 01 2a.
	key := []byte{0x10, 0x50, 0x2f, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02}
	enc := make([]byte, len(key)) // as SRTP's AES counter mode would leave it
	for i, b := range key {
		enc[i] = b ^ byte(0xa5+31*i)
	}
	for _, tc := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"key frame", key, true},
		{"picture ID 15 bits", append([]byte{0x90, 0x80, 0x81, 0x23}, key[1:]...), true},
		{"picture ID 7 bits, TL0PICIDX, TID", append([]byte{0x90, 0xe0, 0x12, 0x05, 0x40}, key[1:]...), true},
		{"inter frame", []byte{0x10, 0x51, 0x2f, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02}, false},
		{"not the start of a partition", append([]byte{0x00}, key[1:]...), false},
		{"partition 1", append([]byte{0x11}, key[1:]...), false},
		{"encrypted", enc, false},
		{"truncated", key[:6], false},
		{"empty", nil, false},
	} {
		if got := vp8Keyframe(tc.p); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCandidateAddress(t *testing.T) {
	for _, tc := range []struct {
		c, addr, typ, class string
		ok                  bool
	}{
		{"candidate:1 1 udp 2130706431 10.0.1.2 5000 typ host", "10.0.1.2", "host", reports.ClassPrivate, true},
		{"candidate:2 1 udp 1694498815 203.0.113.10 6000 typ srflx raddr 0.0.0.0 rport 5000", "203.0.113.10", "srflx", reports.ClassPublic, true},
		{"candidate:3 1 udp 16777215 198.51.100.10 7000 typ relay raddr 203.0.113.10 rport 6000", "198.51.100.10", "relay", reports.ClassPublic, true},
		{"candidate:4 1 udp 2130706431 3f1a.local 5000 typ host", "3f1a.local", "host", reports.ClassMDNS, true},
		{"candidate:5 1 udp 2130706431 fd00::1 5000 typ host", "fd00::1", "host", reports.ClassPrivate, true},
		{"candidate:6 1 udp 2130706431 fe80::1 5000 typ host", "fe80::1", "host", reports.ClassPrivate, true},
		{"candidate:7 1 udp 2130706431 2001:db8::1 5000 typ host", "2001:db8::1", "host", reports.ClassPublic, true},
		{"candidate:8 1 udp 1 10.0.0.1 5000 host", "", "", "", false},
	} {
		addr, typ, ok := candidateAddress(tc.c)
		if addr != tc.addr || typ != tc.typ || ok != tc.ok {
			t.Errorf("%q: %q %q %v, want %q %q %v", tc.c, addr, typ, ok, tc.addr, tc.typ, tc.ok)
		}
		if ok && addressClass(addr) != tc.class {
			t.Errorf("%s: class %s, want %s", addr, addressClass(addr), tc.class)
		}
	}
}
