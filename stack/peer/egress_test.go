package peer

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestUsesTURN: the egress goroutine (egress.go) is there for writes that
// can wait on a TURN transaction; a PeerConnection with only STUN servers,
// or none (the SFU), writes in place.
func TestUsesTURN(t *testing.T) {
	tests := []struct {
		servers []webrtc.ICEServer
		want    bool
	}{
		{nil, false},
		{[]webrtc.ICEServer{{URLs: []string{"stun:10.0.0.1:3478"}}}, false},
		{[]webrtc.ICEServer{{URLs: []string{"stun:10.0.0.1:3478", "turn:10.0.0.1:3478?transport=udp"}}}, true},
		{[]webrtc.ICEServer{{URLs: []string{"stun:10.0.0.1"}}, {URLs: []string{"TURNS:relay.example:5349"}}}, true},
	}
	for _, tt := range tests {
		if got := usesTURN(tt.servers); got != tt.want {
			t.Errorf("usesTURN(%v) = %v, want %v", tt.servers, got, tt.want)
		}
	}
}
