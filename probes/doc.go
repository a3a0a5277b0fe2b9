// Package probes takes measurements of a running WebRTC stack: the
// selected ICE candidate pair of a PeerConnection (and how a relay reaches
// its TURN server), the candidates gathered by type and the connectivity
// checks sent (ReadICE), per-SSRC RTP statistics
// from pion's stats interceptor (RFC 3550 section 6.4.1 loss and jitter,
// RTCP round-trip time, NACK and PLI counts), and a Recorder that keeps
// named time series at analysis.Resolution and timestamped events, writing
// events to a JSON Lines stream as they happen so that an interrupted run
// still leaves them behind.
//
// A bad network is not an error here: a probe returns what it saw (zero
// packets, no pair); an error means the measurement could not be taken.
package probes
