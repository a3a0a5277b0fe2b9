package peer

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// AddRemoteCandidate adds a trickled remote candidate, or keeps it until
// the remote description is set: the other side starts trickling as soon
// as it sets its local description, so a candidate can overtake the offer
// or answer it belongs to. Call it, and FlushCandidates after every
// SetRemoteDescription, from the one goroutine that does the signaling.
func (pc *PC) AddRemoteCandidate(c webrtc.ICECandidateInit) error {
	if pc.RemoteDescription() == nil {
		pc.early = append(pc.early, c)
		return nil
	}
	return pc.addCandidate(c)
}

// FlushCandidates adds the candidates that came before the remote
// description.
func (pc *PC) FlushCandidates() error {
	early := pc.early
	pc.early = nil
	for _, c := range early {
		if err := pc.addCandidate(c); err != nil {
			return fmt.Errorf("early candidate: %w", err)
		}
	}
	return nil
}
