// Package sfu is rtclab's selective forwarding unit: it joins a signaling
// room as the participant "sfu", answers every participant's offer with a
// PeerConnection of its own, and forwards every published track to every
// other participant in the room, renegotiating as tracks come and go.
//
// Forwarding is per packet (no transcoding): one TrackLocalStaticRTP per
// published track, bound to every subscriber, rewrites SSRC and payload type
// per subscriber. Keyframe requests (PLI, FIR) from subscribers are sent on
// to the publisher as PLI (RFC 4585 section 6.3.1), at most one per
// keyframeInterval per track. NACKs from subscribers are answered from the
// packet cache of pion's NACK responder interceptor (RFC 4585 section 6.2.1).
package sfu
