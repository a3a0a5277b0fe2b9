package peer_test

import (
	"regexp"
	"testing"
	"testing/synctest"

	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/stack/peer"
)

// MDNSName is a version 4 UUID followed by ".local" (draft section 3.1,
// step 2), the same for the same key.
func TestMDNSName(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.local$`)
	for _, key := range []string{"", "room/alice/bob", "room/bob/alice"} {
		if n := peer.MDNSName(key); !re.MatchString(n) || n != peer.MDNSName(key) {
			t.Errorf("MDNSName(%q) = %q", key, n)
		}
	}
	if peer.MDNSName("a") == peer.MDNSName("b") {
		t.Error("two keys, one name")
	}
}

// Conceal: a host candidate leaves with the name instead of its address,
// a reflexive one without its related address; a host with no multicast
// (no LAN) does not expose its host candidate at all (section 3.1, step
// 4); without a name nothing changes.
func TestConceal(t *testing.T) {
	const name = "6f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c.local"
	host := webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 10.0.1.2 5000 typ host"}
	srflx := webrtc.ICECandidateInit{Candidate: "candidate:2 1 udp 1694498815 203.0.113.10 5500 typ srflx raddr 10.0.1.2 rport 5000"}
	relay := webrtc.ICECandidateInit{Candidate: "candidate:3 1 udp 16777215 198.51.100.10 5001 typ relay raddr 203.0.113.10 rport 5500"}
	synctest.Test(t, func(t *testing.T) {
		n, err := netem.New(netem.Config{Hosts: []netem.HostConfig{{Name: "lan", NAT: netem.FullCone, LAN: "home"}, {Name: "alone", NAT: netem.FullCone}}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		lan, _ := n.Host("lan")
		alone, _ := n.Host("alone")
		tests := []struct {
			name string
			p    peer.Params
			in   webrtc.ICECandidateInit
			out  string
			ok   bool
		}{
			{"host", peer.Params{Net: lan.Net, MDNSName: name}, host, "candidate:1 1 udp 2130706431 " + name + " 5000 typ host", true},
			{"srflx", peer.Params{Net: lan.Net, MDNSName: name}, srflx, "candidate:2 1 udp 1694498815 203.0.113.10 5500 typ srflx raddr 0.0.0.0 rport 0", true},
			{"relay", peer.Params{Net: lan.Net, MDNSName: name}, relay, relay.Candidate, true},
			{"no multicast", peer.Params{Net: alone.Net, MDNSName: name}, host, host.Candidate, false},
			{"no name", peer.Params{Net: lan.Net}, host, host.Candidate, true},
		}
		for _, tt := range tests {
			pc, err := peer.New(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := pc.Conceal(tt.in)
			if got.Candidate != tt.out || ok != tt.ok {
				t.Errorf("%s: %q, %v; want %q, %v", tt.name, got.Candidate, ok, tt.out, tt.ok)
			}
			sdp := "v=0\r\na=" + tt.in.Candidate + "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
			want := "v=0\r\na=" + tt.out + "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
			if !tt.ok {
				want = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
			}
			if got := pc.ConcealSDP(sdp); got != want {
				t.Errorf("%s: SDP %q, want %q", tt.name, got, want)
			}
			_ = pc.Close()
		}
	})
}
