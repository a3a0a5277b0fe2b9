// Package peer builds pion PeerConnections the way every rtclab component
// needs them: on a given transport.Net (an emulated host), with the stats
// interceptor registered first and then NACK, RTCP reports and
// transport-wide congestion control feedback, so that RTT, loss, jitter and
// NACK/PLI counts are measured (see ../../shared/DESIGN.md, "Known traps").
//
// Each PeerConnection gets its own webrtc.API, so the stats.Getter handed
// back belongs to exactly that connection: pion keys its stats callbacks by
// a PeerConnection ID made from the clock, which repeats when two are made
// in the same instant of virtual time.
package peer
