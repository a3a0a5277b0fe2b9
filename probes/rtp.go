package probes

import (
	"time"

	"github.com/pion/interceptor/pkg/stats"
)

// Inbound is what a receiver measured of one RTP stream.
type Inbound struct {
	// PacketsReceived counts packets (repairs included).
	PacketsReceived uint64
	// PacketsLost is expected minus received (RFC 3550 section 6.4.1);
	// packets repaired by retransmission are not lost.
	PacketsLost int64
	// JitterMS is the interarrival jitter (RFC 3550 section 6.4.1) in ms.
	JitterMS float64
	// Bytes is the payload bytes received.
	Bytes uint64
	// NACKs and PLIs count the feedback packets this receiver sent.
	NACKs, PLIs uint64
}

// Outbound is what a sender measured of one RTP stream.
type Outbound struct {
	// PacketsSent and BytesSent count what left the sender.
	PacketsSent, BytesSent uint64
	// RTTMS is the last RTCP round-trip time (RFC 3550 section 6.4.1,
	// from LSR/DLSR of the receiver's reports) in ms; 0 before the first.
	RTTMS float64
	// RTTMeasurements counts the RTT samples.
	RTTMeasurements uint64
	// NACKs and PLIs count the feedback packets the sender received.
	NACKs, PLIs uint64
}

// ReadInbound returns the inbound statistics of ssrc, and false when the
// stream has not been seen.
func ReadInbound(g stats.Getter, ssrc uint32) (Inbound, bool) {
	s := g.Get(ssrc)
	if s == nil {
		return Inbound{}, false
	}
	in := s.InboundRTPStreamStats
	return Inbound{
		PacketsReceived: in.PacketsReceived,
		PacketsLost:     in.PacketsLost,
		JitterMS:        in.Jitter * 1000,
		Bytes:           in.BytesReceived,
		NACKs:           uint64(in.NACKCount),
		PLIs:            uint64(in.PLICount) + uint64(in.FIRCount),
	}, true
}

// ReadOutbound returns the outbound statistics of ssrc, and false when the
// stream has not been seen.
func ReadOutbound(g stats.Getter, ssrc uint32) (Outbound, bool) {
	s := g.Get(ssrc)
	if s == nil {
		return Outbound{}, false
	}
	out := s.OutboundRTPStreamStats
	ri := s.RemoteInboundRTPStreamStats
	return Outbound{
		PacketsSent:     out.PacketsSent,
		BytesSent:       out.BytesSent,
		RTTMS:           float64(ri.RoundTripTime) / float64(time.Millisecond),
		RTTMeasurements: ri.RoundTripTimeMeasurements,
		NACKs:           uint64(out.NACKCount),
		PLIs:            uint64(out.PLICount) + uint64(out.FIRCount),
	}, true
}

// LossFraction is lost / (received + lost), 0 when nothing was expected.
func (in Inbound) LossFraction() float64 {
	lost := in.PacketsLost
	if lost < 0 {
		lost = 0 // duplicates can make RFC 3550's cumulative loss negative
	}
	expected := float64(in.PacketsReceived) + float64(lost)
	if expected == 0 {
		return 0
	}
	return float64(lost) / expected
}
