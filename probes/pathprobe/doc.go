// Package pathprobe connects a pion PeerConnection to rtclab's test peer
// (stack/testpeer) over one kind of ICE path at a time — host, server
// reflexive, or relayed through TURN over UDP, TCP or TLS — and measures
// over the connected path: round-trip time, jitter and loss of paced
// probes on an unreliable data channel, and upload and download bandwidth
// on reliable ones.
//
// Forcing a path kind uses what the ICE agent offers: no ICE servers for
// host (RFC 8445 §5.1.1.1), ICETransportPolicy "no host" with only a STUN
// server for server reflexive, and the "relay" policy (RFC 8829 §4.1.1)
// with a single TURN URL for each relay transport.
package pathprobe
