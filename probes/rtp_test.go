package probes

import (
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/stats"
)

// getter serves fixed stats for one SSRC.
type getter map[uint32]*stats.Stats

func (g getter) Get(ssrc uint32) *stats.Stats { return g[ssrc] }

// TestReadInboundUnits: pion keeps jitter in seconds and RTT as a
// time.Duration; the probes report milliseconds. Loss is clamped at 0
// when duplicates make RFC 3550's cumulative count negative.
func TestReadInboundUnits(t *testing.T) {
	var s stats.Stats
	s.InboundRTPStreamStats.PacketsReceived = 90
	s.InboundRTPStreamStats.PacketsLost = 10
	s.InboundRTPStreamStats.Jitter = 0.0125
	s.InboundRTPStreamStats.NACKCount = 3
	s.InboundRTPStreamStats.PLICount = 1
	s.InboundRTPStreamStats.FIRCount = 1
	s.OutboundRTPStreamStats.PacketsSent = 100
	s.RemoteInboundRTPStreamStats.RoundTripTime = 42500 * time.Microsecond
	s.RemoteInboundRTPStreamStats.RoundTripTimeMeasurements = 7
	g := getter{5: &s}

	in, ok := ReadInbound(g, 5)
	if !ok || in.JitterMS != 12.5 || in.PacketsReceived != 90 || in.NACKs != 3 || in.PLIs != 2 {
		t.Errorf("inbound %+v, want jitter 12.5 ms, 90 received, 3 NACKs, 2 PLI+FIR", in)
	}
	if got := in.LossFraction(); got != 0.1 {
		t.Errorf("loss fraction %v, want 0.1", got)
	}
	out, ok := ReadOutbound(g, 5)
	if !ok || out.RTTMS != 42.5 || out.RTTMeasurements != 7 || out.PacketsSent != 100 {
		t.Errorf("outbound %+v, want RTT 42.5 ms over 7, 100 sent", out)
	}
	if _, ok := ReadInbound(g, 6); ok {
		t.Error("an unknown SSRC was read")
	}
	if got := (Inbound{PacketsReceived: 10, PacketsLost: -2}).LossFraction(); got != 0 {
		t.Errorf("negative cumulative loss gives %v, want 0", got)
	}
}
