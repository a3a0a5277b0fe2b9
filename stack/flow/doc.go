// Package flow provides the traffic of rtclab's bandwidth test cases
// (RFC 8867): a congestion-controlled video flow between two pion
// PeerConnections whose sender runs pion's Google Congestion Control
// (interceptor cc + gcc, fed by transport-wide congestion control
// feedback) and whose encoder is a statistical codec after RFC 8593; and
// the competing cross traffic the RFC's cases need — constant-bitrate UDP
// and a window-based, loss-responsive TCP-like flow carried over UDP
// (netem's emulated TCP carries its acks outside the links: they cost
// no capacity).
//
// Every flow measures itself: bytes sent and received, the bandwidth
// estimate, and the one-way delay of every packet against its send time
// (one virtual clock serves every host, so one-way delay is exact). The
// flows keep no package state, start no goroutine they do not join, and
// draw every random number from a generator seeded by the caller, so a
// run in a testing/synctest bubble repeats exactly for a seed.
package flow
