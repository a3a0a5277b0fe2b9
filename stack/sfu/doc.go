// Package sfu is rtclab's selective forwarding unit: it joins a signaling
// room as the participant "sfu", answers every participant's offer with a
// PeerConnection of its own, and forwards every published track to every
// other participant in the room, renegotiating as tracks come and go:
// a subscriber's changes wait sfu-renegotiate-delay and go out in one
// offer (renegotiate).
//
// Forwarding is per packet (no transcoding). Each subscriber gets its own
// copy of each published track (a downTrack with its own
// TrackLocalStaticRTP), so that each can receive a different simulcast
// layer:
//
//   - Simulcast (RFC 8853): a publisher's layers arrive as separate RTP
//     streams told apart by RID (RFC 8852). Every allocateEvery the SFU
//     measures each layer's bitrate and reads each subscriber's bandwidth
//     estimate (send-side GCC on the subscriber's transport-wide congestion
//     control feedback); a selector picks the highest layer that fits,
//     moving down at once and up only after the layer has fit with
//     headroom for a while and not soon after moving down. When a higher
//     layer is wanted but the estimate is too low, the SFU probes the
//     path with padding packets (probe.go), because pion's GCC never
//     raises its estimate far above the rate it sees.
//   - Layer switches happen only on a keyframe of the new layer, which the
//     SFU asks for with a PLI; sequence numbers and timestamps are
//     rewritten (munger.go) so the subscriber sees one continuous stream.
//   - Keyframe requests (PLI, FIR) from subscribers, layer switches and new
//     subscribers all reach the publisher as PLI (RFC 4585 section
//     6.3.1), at most one per keyframeInterval per layer.
//   - NACKs from subscribers are answered from the packet cache pion's NACK
//     responder keeps for each subscriber's copy, as RTX where negotiated
//     (RFC 4585 section 6.2.1, RFC 4588), each packet at most once per
//     round trip (stack/peer nack.go).
//   - A track is offered to a subscriber only when the subscriber offered
//     the track's codec; otherwise the refusal and its reason are kept
//     (Negotiations).
//   - Participants that do not signal publish over WHIP (RFC 9725) and
//     watch over WHEP (whip.go): a WHEP session's recvonly m-lines are
//     slots filled as tracks are published (whep.go), and a session's
//     ICE is trickled and restarted with HTTP PATCH (whip_patch.go).
package sfu
