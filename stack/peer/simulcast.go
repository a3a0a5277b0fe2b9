package peer

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// SetRemoteDescription applies a remote offer or answer, after removing
// what the remote says it receives as simulcast (see sendSimulcastOnly).
// It shadows webrtc.PeerConnection.SetRemoteDescription, so every rtclab
// endpoint (agent and SFU) goes through it.
func (pc *PC) SetRemoteDescription(desc webrtc.SessionDescription) error {
	desc.SDP = sendSimulcastOnly(desc.SDP)
	return pc.PeerConnection.SetRemoteDescription(desc) // callers add context
}

// sendSimulcastOnly removes from a remote description the "a=rid" lines
// of direction "recv" (RFC 8851 section 4) and the "recv" half of
// "a=simulcast" (RFC 8853 section 5.1): they describe the layers the
// remote receives, that is the ones this side sends, and nothing this
// side receives.
//
// Work-around for pion/webrtc v4.2.1, which reads every a=rid line of a
// remote media section as an incoming simulcast stream whatever its
// direction (sdp.go:285 getRids; sdp.go:240 trackDetailsFromSDP then
// replaces the section's declared SSRC tracks with one RID-only track).
// So on a sendrecv m-line where this side sends simulcast and the remote
// answers "a=simulcast:recv q;h;f" while sending one plain stream on the
// same m-line (an SFU forwarding another participant's video, or a p2p
// peer's own camera), the stream's a=ssrc line is forgotten, its packets
// go to RID probing (peerconnection.go:1728 handleIncomingSSRC), which
// gives up after 10 packets without MID and RID header extensions
// (peerconnection.go:1908: "Incoming unhandled RTP ssrc(...), OnTrack
// will not be fired. incoming SSRC failed Simulcast probing"), and the
// receiver waits for layers that never come. pion also echoes the recv
// RIDs into its next offer or answer (peerconnection.go:2989, sdp.go:629),
// next to its own "a=simulcast:send", which is not a valid media section
// either. No upstream issue was found for it (the nearest are
// pion/webrtc#1930 and #1984, and webrtc-rs/rtc#20 for the same
// bidirectional m-line in the Rust port). Send RIDs are kept: pion needs
// them to receive the remote's simulcast.
func sendSimulcastOnly(sdp string) string {
	if !strings.Contains(sdp, "a=rid:") && !strings.Contains(sdp, "a=simulcast:") {
		return sdp
	}
	eol := "\r\n"
	if !strings.Contains(sdp, eol) {
		eol = "\n"
	}
	lines := strings.Split(sdp, eol)
	out := lines[:0]
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "a=rid:"):
			// a=rid:<rid-id> <direction> [restrictions]
			if f := strings.Fields(strings.TrimPrefix(l, "a=rid:")); len(f) >= 2 && f[1] == "recv" {
				continue
			}
		case strings.HasPrefix(l, "a=simulcast:"):
			// a=simulcast:<direction> <alternatives> [<direction> <alternatives>]
			f := strings.Fields(strings.TrimPrefix(l, "a=simulcast:"))
			var kept []string
			for i := 0; i+1 < len(f); i += 2 {
				if f[i] != "recv" {
					kept = append(kept, f[i], f[i+1])
				}
			}
			if len(kept) == 0 {
				continue
			}
			l = "a=simulcast:" + strings.Join(kept, " ")
		}
		out = append(out, l)
	}
	return strings.Join(out, eol)
}
