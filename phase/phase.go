package phase

import (
	"hash/fnv"
	"time"
)

// Spec is one period or offset.
type Spec struct {
	// Name identifies the value; the offset is derived from it.
	Name string
	// Base is what the value stands for, e.g. pion's 100 ms NACK interval.
	Base time.Duration
	// Spread bounds the derived offset: Value is in (Base, Base+Spread).
	Spread time.Duration
	// Periodic says the value is a timer's period (checked against every
	// other period and the media grids), not a one-off offset.
	Periodic bool
}

// Value is Base plus an odd number of nanoseconds below Spread, derived
// from Name.
func (s Spec) Value() time.Duration { return Derive(s.Base, s.Spread, s.Name) }

// For is the value a stack uses on one clock: Value in virtual time, where
// coinciding events run in any order, and Base (pion's default, the
// stack's own figure) in real time, where nothing needs keeping apart.
func (s Spec) For(virtual bool) time.Duration {
	if virtual {
		return s.Value()
	}
	return s.Base
}

// Derive returns base plus an odd number of nanoseconds in [1, spread),
// from a hash (FNV-1a) of key: the same key always gives the same value,
// different keys almost always different ones.
func Derive(base, spread time.Duration, key string) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(key))
	n := max(uint64(spread)/2, 1)
	return base + time.Duration(h.Sum64()%n*2+1)
}

// The values, each with what it stands for.
var (
	// NACKInterval: pion's NACK generator reports missing packets every
	// 100 ms, on a ticker started by a stream's first packet; at exactly
	// 100 ms every fifth 20 ms audio arrival falls on a tick.
	NACKInterval = Spec{Name: "nack-interval", Base: 100 * time.Millisecond, Spread: time.Millisecond, Periodic: true}
	// FlowNACKInterval is the NACK interval of the RFC 8867 flows.
	FlowNACKInterval = Spec{Name: "flow-nack-interval", Base: 100 * time.Millisecond, Spread: time.Millisecond, Periodic: true}
	// TWCCInterval: transport-wide congestion control feedback every
	// 100 ms (pion's default) in the RFC 8867 flows.
	TWCCInterval = Spec{Name: "twcc-interval", Base: 100 * time.Millisecond, Spread: time.Millisecond, Periodic: true}
	// PeerTWCCInterval: the same feedback from a call's PeerConnections.
	PeerTWCCInterval = Spec{Name: "peer-twcc-interval", Base: 100 * time.Millisecond, Spread: time.Millisecond, Periodic: true}
	// SenderReportInterval and ReceiverReportInterval: RTCP sender and
	// receiver reports (RFC 3550 section 6.4), every second in pion; the
	// round-trip time is measured from them.
	SenderReportInterval   = Spec{Name: "rtcp-sender-report-interval", Base: time.Second, Spread: time.Millisecond, Periodic: true}
	ReceiverReportInterval = Spec{Name: "rtcp-receiver-report-interval", Base: time.Second, Spread: time.Millisecond, Periodic: true}
	// PLIEvery: the least time between two keyframe requests from one
	// receiver.
	PLIEvery = Spec{Name: "pli-every", Base: 300 * time.Millisecond, Spread: time.Millisecond, Periodic: true}
	// AllocateEvery: how often the SFU measures layers and allocates.
	AllocateEvery = Spec{Name: "sfu-allocate-every", Base: 200 * time.Millisecond, Spread: time.Millisecond, Periodic: true}
	// TrackSetup: how long after a track's first packet the SFU offers it.
	TrackSetup = Spec{Name: "sfu-track-setup", Base: time.Millisecond, Spread: time.Microsecond}
	// RenegotiateDelay: how long the SFU holds a subscriber's track
	// changes before offering them all at once.
	RenegotiateDelay = Spec{Name: "sfu-renegotiate-delay", Base: 50 * time.Millisecond, Spread: time.Microsecond}
	// LayerStagger: the gap between the frames of two simulcast layers.
	LayerStagger = Spec{Name: "simulcast-layer-stagger", Base: 200 * time.Microsecond, Spread: 100 * time.Microsecond}
	// TrackStart: the least offset of a track's pacing clock from its
	// participant's start (each track adds whole microseconds of its own).
	TrackStart = Spec{Name: "track-start", Base: 100 * time.Microsecond, Spread: time.Microsecond}
	// StreamLatency: what a TCP segment spends in the stacks on top of the
	// links' delay, keeping TCP events off the instants of UDP ones.
	StreamLatency = Spec{Name: "tcp-stack-latency", Base: 37 * time.Microsecond, Spread: time.Microsecond}
	// SampleOffset: how long after each 100 ms step the runners sample,
	// so that a sample never falls on a packet's arrival (packets arrive
	// on a microsecond grid plus the links' skews).
	SampleOffset = Spec{Name: "sample-offset", Base: 0, Spread: time.Microsecond}
	// JoinStagger: the gap between two participants joining, so that the
	// SFU sets them up one at a time (its ports went to either first).
	JoinStagger = Spec{Name: "join-stagger", Base: 0, Spread: time.Millisecond}
	// CandidateDelay: how long after a trickled candidate arrives an agent
	// adds it. pion's ICE agent asks for a round of checks when it starts,
	// when it gathers a candidate and when a remote one is added, on a
	// one-slot channel (ice/v4 agent.go requestConnectivityCheck) read by
	// another goroutine: with signaling that takes no time, the answer,
	// the agent's start, its host candidate and the peer's arrive at one
	// instant, and the scheduler's order decided whether one or two rounds
	// of checks went out (the matrix's checks_sent differed).
	CandidateDelay = Spec{Name: "remote-candidate-delay", Base: 0, Spread: 100 * time.Microsecond}
	// MDNSQueryInterval: the first wait for an answer to a multicast DNS
	// query before asking again (RFC 6762 section 5.2: at least 1 s, then
	// doubling); a query goes out when a remote .local candidate arrives.
	MDNSQueryInterval = Spec{Name: "mdns-query-interval", Base: time.Second, Spread: time.Millisecond, Periodic: true}
	// MDNSResolvedDelay: how long after a .local name resolves the PC adds
	// the candidate, plus an offset of its own per name (Derive with the
	// name): both peers of one LAN resolve each other at mirrored
	// instants, and a resolved candidate added at the instant the peer's
	// check arrived decided whether that check made a peer-reflexive
	// candidate first (checks_sent differed between runs).
	MDNSResolvedDelay = Spec{Name: "mdns-resolved-candidate-delay", Base: 0, Spread: 100 * time.Microsecond}
	// SocketStagger: the slice of time between two sockets a host opens on
	// no particular address at one instant (netem Config.Stagger). pion
	// opens one per ICE server URL on goroutines started together and
	// writes its STUN request at once, so the scheduler decided the order
	// in which the NAT mapped them (the matrix's checks_sent differed).
	SocketStagger = Spec{Name: "socket-stagger", Base: 0, Spread: 200 * time.Nanosecond}
	// ResendStagger: in a PeerConnection, the wait before the k-th bound
	// stream's retransmissions go out, k times this (stack/peer
	// resendorder.go). pion's NACK responder resends each NACK of a
	// compound RTCP packet on a goroutine of its own, all started at one
	// instant, so the scheduler decided which stream's burst went first
	// into a congested link (carol's video after an ICE restart on TURN
	// over TCP: 213 or 307 packets with one seed).
	ResendStagger = Spec{Name: "resend-stagger", Base: 10 * time.Microsecond, Spread: time.Microsecond}
	// SignalingLatency: how long the signaling server's messages to one
	// client, and the end of its session, take to reach it (signaling
	// Server.Latency); each client has its own, derived from its name
	// (SignalingLatencyOf: sfu 407 ns, bob 881 ns, alice 895 ns). Over
	// in-memory pipes that take no time, a crash ended every session at
	// one instant, so the clients' reconnect timers (250 ms, then 500 ms)
	// fired together and the scheduler picked which rejoined first:
	// server-restarts' signaling-rejoined events found "peers [alice]" in
	// one run, "peers [sfu]" in the next; the SFU's peer-joined and
	// peer-left reached alice and bob at one instant too, and the order
	// they acted in varied. Under 1 µs, so that it only orders what
	// reached several clients at one instant and never overtakes a packet:
	// the shortest path between two hosts crosses two links, each with a
	// skew of at least 1 µs (LinkSkew). With up to 10 µs the SFU's ICE
	// check reached a peer on links without delay before the SFU's
	// candidate did; its agent took the SFU as peer-reflexive and pion
	// connected it only 1 s later (rtclab reproduce's open peer).
	SignalingLatency = Spec{Name: "signaling-latency", Base: 0, Spread: time.Microsecond}
	// OffererDelay and AnswererDelay: a matrix cell's access-link delay,
	// each way; with none, arrivals fall on ICE's 200 ms check ticks.
	OffererDelay  = Spec{Name: "matrix-offerer-delay", Base: 7 * time.Millisecond, Spread: time.Millisecond}
	AnswererDelay = Spec{Name: "matrix-answerer-delay", Base: 11 * time.Millisecond, Spread: time.Millisecond}
)

// SignalingLatencyOf is the signaling latency of the client named name.
func SignalingLatencyOf(name string) time.Duration {
	return Derive(SignalingLatency.Base, SignalingLatency.Spread, SignalingLatency.Name+"/"+name)
}

// LinkSkew is a link's fixed extra delay, 1 to 2 µs with an odd number of
// nanoseconds, derived from the link's name: delays written in whole
// milliseconds would make packets on different paths arrive at one
// instant.
func LinkSkew(link string) time.Duration {
	return Derive(time.Microsecond, time.Microsecond, "link/"+link)
}

// All lists every Spec, for the test that no two coincide.
func All() []Spec {
	return []Spec{NACKInterval, FlowNACKInterval, TWCCInterval, PeerTWCCInterval, SenderReportInterval, ReceiverReportInterval, PLIEvery, AllocateEvery, TrackSetup, RenegotiateDelay,
		LayerStagger, TrackStart, StreamLatency, SampleOffset, JoinStagger, CandidateDelay, MDNSQueryInterval, MDNSResolvedDelay, SocketStagger, ResendStagger, SignalingLatency, OffererDelay, AnswererDelay}
}
