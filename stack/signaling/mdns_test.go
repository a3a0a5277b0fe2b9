package signaling

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const (
	hostLocal = "candidate:1 1 udp 2130706431 1f0e6b8c-3c44-4e0a-9d1e-2b5a3f7c9d10.local 5000 typ host"
	hostIP    = "candidate:1 1 udp 2130706431 10.0.1.2 5000 typ host"
	srflx     = "candidate:2 1 udp 1694498815 203.0.113.10 5500 typ srflx raddr 0.0.0.0 rport 0"
)

func TestLocalCandidate(t *testing.T) {
	for c, want := range map[string]bool{
		hostLocal:        true,
		"a=" + hostLocal: true,
		strings.ToUpper(hostLocal[:30]) + hostLocal[30:]: false, // "CANDIDATE:" is not the attribute
		hostIP: false,
		srflx:  false,
		"candidate:1 1 udp 1 host.example.local 5 typ host": false, // more than one dot: a DNS name
		"candidate:1 1 udp 1 x.LOCAL 5 typ host":            true,
		"candidate:1 1 udp 1 x.local":                       false, // too short
		"":                                                  false,
	} {
		if got := LocalCandidate(c); got != want {
			t.Errorf("LocalCandidate(%q) = %v, want %v", c, got, want)
		}
	}
}

func TestScreen(t *testing.T) {
	sdp := "v=0\r\na=candidate:" + hostLocal[10:] + "\r\na=" + srflx + "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
	cand := func(c string) Message {
		b, _ := json.Marshal(map[string]string{"candidate": c})
		return Message{Type: TypeCandidate, To: "bob", Candidate: b}
	}
	tests := []struct {
		mode    MDNSMode
		m       Message
		relayed bool
		sdp     string
		refused bool
	}{
		{MDNSRelay, cand(hostLocal), true, "", false},
		{MDNSStrip, cand(hostLocal), false, "", false},
		{MDNSStrip, cand(hostIP), true, "", false},
		{MDNSReject, cand(hostLocal), false, "", true},
		{MDNSReject, cand(srflx), true, "", false},
		{MDNSStrip, Message{Type: TypeOffer, To: "bob", SDP: sdp}, true, "v=0\r\na=" + srflx + "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", false},
		{MDNSReject, Message{Type: TypeAnswer, To: "bob", SDP: sdp}, false, "", true},
		{MDNSReject, Message{Type: TypeOffer, To: "bob", SDP: "v=0\r\n"}, true, "v=0\r\n", false},
	}
	for i, tt := range tests {
		got, ok, err := tt.mode.screen(tt.m)
		if ok != tt.relayed || errors.Is(err, ErrMDNSCandidate) != tt.refused {
			t.Errorf("%d: %s %s: relayed %v, err %v", i, tt.mode, tt.m.Type, ok, err)
		}
		if tt.sdp != "" && got.SDP != tt.sdp {
			t.Errorf("%d: SDP %q, want %q", i, got.SDP, tt.sdp)
		}
	}
}

// FuzzStripLocal: on any description, StripLocal removes exactly the
// .local candidate lines, keeps every other byte in order, and says how
// many it removed; stripping again removes nothing.
func FuzzStripLocal(f *testing.F) {
	f.Add("v=0\r\na=" + hostLocal + "\r\na=" + srflx + "\r\n")
	f.Add("a=" + hostLocal)
	f.Add("a=candidate:1 1 udp 1 a.local 1 typ host\na=candidate:1 1 udp 1 a.b.local 1 typ host\n")
	f.Fuzz(func(t *testing.T, sdp string) {
		out, n := StripLocal(sdp)
		lines := strings.SplitAfter(sdp, "\n")
		var want strings.Builder
		removed := 0
		for _, l := range lines {
			if strings.HasPrefix(l, "a=") && LocalCandidate(strings.TrimRight(l, "\r\n")) {
				removed++
				continue
			}
			want.WriteString(l)
		}
		if out != want.String() || n != removed {
			t.Fatalf("StripLocal(%q) = %q, %d; want %q, %d", sdp, out, n, want.String(), removed)
		}
		if again, m := StripLocal(out); m != 0 || again != out {
			t.Fatalf("second strip removed %d from %q", m, out)
		}
	})
}
