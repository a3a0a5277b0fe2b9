package sfu

import (
	"context"
	"fmt"
	"time"

	"github.com/rtclab/rtclab/stack/signaling"
)

// Backoff between signaling reconnection attempts (Params.Rejoin).
const (
	reconnectFirst = 250 * time.Millisecond
	reconnectMax   = 2 * time.Second
)

// read passes sig's messages to msgs until it fails (the error goes to
// readErr) or ctx ends.
func (s *SFU) read(ctx context.Context, sig *signaling.Client, msgs chan<- signaling.Message, readErr chan<- error) {
	defer s.wg.Done()
	for {
		m, err := sig.Recv(ctx)
		if err != nil {
			readErr <- err
			return
		}
		select {
		case msgs <- m:
		case <-ctx.Done():
			return
		}
	}
}

// rejoin dials signaling until it gets back into the room, then hands the
// new connection to the Serve goroutine (swap). The
// PeerConnections never stopped: participants who rejoin find the SFU
// there and keep them.
func (s *SFU) rejoin(ctx context.Context, msgs chan<- signaling.Message, readErr chan<- error) {
	defer s.wg.Done()
	wait := reconnectFirst
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		sig, err := signaling.Dial(ctx, s.p.SignalURL, s.p.HTTPClient, s.room, Name)
		if err != nil {
			wait = min(2*wait, reconnectMax)
			continue
		}
		s.rejoined <- sig // buffered: one rejoin at a time
		return
	}
}

// swap makes sig the signaling connection and reads from it (Serve
// goroutine).
func (s *SFU) swap(ctx context.Context, sig *signaling.Client, msgs chan<- signaling.Message, readErr chan<- error) {
	_ = s.sig.Close()
	s.sig = sig
	s.sigLost = false
	s.event("signaling-rejoined", "", fmt.Sprintf("peers %v", sig.Joined.Peers))
	s.wg.Add(1)
	go s.read(ctx, sig, msgs, readErr)
}
