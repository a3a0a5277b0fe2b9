package agent

import (
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

func sdpWith(ufrag, setup string) string {
	return "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n" +
		"a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:pppppppppppppppppppppp\r\na=setup:" + setup + "\r\na=rtpmap:111 opus/48000/2\r\n"
}

// An offer restarts ICE when its ufrag differs from the current remote
// description's (RFC 8839 section 4.4.1.1.2); without one, or without a
// readable ufrag, it restarts nothing.
func TestRestartsICE(t *testing.T) {
	cur := &webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdpWith("aaaa", "active")}
	tests := []struct {
		name    string
		offer   string
		current *webrtc.SessionDescription
		want    bool
	}{
		{"new ufrag", sdpWith("bbbb", "actpass"), cur, true},
		{"same ufrag (renegotiation)", sdpWith("aaaa", "actpass"), cur, false},
		{"no current description", sdpWith("bbbb", "actpass"), nil, false},
		{"unreadable offer", "garbage", cur, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := restartsICE(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: tt.offer}, tt.current)
			if got != tt.want {
				t.Errorf("restartsICE = %v, want %v", got, tt.want)
			}
		})
	}
}

// The remote's last offer stands for the answer it took: the DTLS role
// opposite ours (RFC 5763 section 5).
func TestOfferAsAnswer(t *testing.T) {
	for _, tt := range []struct{ ours, want string }{
		{"active", "a=setup:passive"},
		{"passive", "a=setup:active"},
	} {
		got := offerAsAnswer(sdpWith("aaaa", "actpass"), webrtc.SessionDescription{SDP: sdpWith("bbbb", tt.ours)})
		if !strings.Contains(got, tt.want) || strings.Contains(got, "actpass") {
			t.Errorf("ours %s: got %q, want %s", tt.ours, got, tt.want)
		}
	}
}

// FuzzGlareSDP feeds remote descriptions (outside input: what signaling
// carries) to what perfect negotiation reads of them: restartsICE and
// offerAsAnswer must not panic, and an answer made of an offer keeps no
// actpass.
func FuzzGlareSDP(f *testing.F) {
	f.Add(sdpWith("aaaa", "actpass"), sdpWith("bbbb", "active"))
	f.Add(sdpWith("aaaa", "actpass"), sdpWith("aaaa", "passive"))
	f.Add("v=0\r\na=ice-ufrag:x\r\n", "garbage")
	f.Fuzz(func(t *testing.T, offer, current string) {
		cur := &webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: current}
		_ = restartsICE(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}, cur)
		if got := offerAsAnswer(offer, *cur); strings.Contains(got, "a=setup:actpass") {
			t.Errorf("actpass left in %q", got)
		}
	})
}
