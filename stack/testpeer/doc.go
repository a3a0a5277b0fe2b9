// Package testpeer is the far end of `rtclab diagnose`: a WebRTC peer on
// the server that answers offers over plain HTTP (non-trickle: one POST
// with the offer, the answer in the response) and serves three data
// channels by label:
//
//   - "echo": every message is sent back unchanged (RTT, jitter and loss
//     of paced probes; the client opens it unordered with no retransmits so
//     that a lost packet stays lost);
//   - "sink": received bytes are counted and reported back every 100 ms as
//     a text message "rx BYTES MS" (upload bandwidth);
//   - "source": on the text message "send MS", the peer sends binary
//     messages as fast as the channel drains for MS milliseconds, then the
//     text message "end BYTES" (download bandwidth).
//
// Media: each audio (Opus) or video (VP8) track the client sends is echoed
// back on a track of the same kind, or only received and dropped when its
// track ID starts with "sink".
//
// A peer connection is closed when ICE fails or after Config.MaxDuration.
package testpeer
