package runner

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// flowsCall is a flows scenario whose CBR flow offers 1.5 Mbit/s to a
// 1 Mbit/s uplink with a 100 ms drop-tail queue.
func flowsCall(t *testing.T, backend string) *scenarios.Scenario {
	t.Helper()
	src := fmt.Sprintf(`name: flows-%[1]s
topology: flows
duration: 6s
backend: %[1]s
participants:
  - name: a
    uplink: {rate: 1Mbps, queue: 100ms}
  - name: b
    downlink: {delay: 20ms}
flows:
  - {name: cbr, kind: cbr, from: a, to: b, rate: 1500kbps}
`, backend)
	s, err := scenarios.Parse("flows.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFlowsOnBothBackends runs one flows scenario on both backends: the
// CBR flow over its bottleneck must deliver the link's rate (not what it
// offers), lose the rest, and wait in the same queue, alike on both (the
// kernel carries the flow through the same link code, between
// namespaces, in real time). About 9 s.
func TestFlowsOnBothBackends(t *testing.T) {
	if err := kernel.Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
	got := map[string]reports.BandwidthFlow{}
	for _, backend := range []string{scenarios.BackendInProcess, scenarios.BackendKernel} {
		var rep *reports.Report
		var err error
		if backend == scenarios.BackendKernel {
			rep, err = Run(context.Background(), flowsCall(t, backend), Options{Clock: ClockReal})
		} else {
			rep, err = runVirtual(t, flowsCall(t, backend), Options{})
		}
		if err != nil {
			t.Fatal(err)
		}
		if rep.Bandwidth == nil || len(rep.Bandwidth.Flows) != 1 {
			t.Fatalf("%s: no flow in the report", backend)
		}
		f := rep.Bandwidth.Flows[0]
		got[backend] = f
		t.Logf("%s: link %q, send %.0f kbit/s, receive %.0f kbit/s, lost %d of %d packets, queue p50 %v ms", backend, f.Link, f.RateKbps, f.ReceiveKbps, f.PacketsSent-f.PacketsReceived, f.PacketsSent, deref(f.QueueDelayP50MS))
		if f.Link != "a uplink" {
			t.Errorf("%s: bottleneck %q", backend, f.Link)
		}
	}
	in, k := got[scenarios.BackendInProcess], got[scenarios.BackendKernel]
	if math.Abs(k.ReceiveKbps-in.ReceiveKbps) > 0.05*in.ReceiveKbps {
		t.Errorf("received %.0f kbit/s on the kernel backend, %.0f in-process (±5 %%)", k.ReceiveKbps, in.ReceiveKbps)
	}
	if in.ReceiveKbps > 1000 || in.ReceiveKbps < 850 {
		t.Errorf("in-process: %.0f kbit/s through a 1 Mbit/s link", in.ReceiveKbps)
	}
	lost := func(f reports.BandwidthFlow) float64 { return 1 - float64(f.PacketsReceived)/float64(f.PacketsSent) }
	if math.Abs(lost(k)-lost(in)) > 0.03 || lost(in) < 0.25 {
		t.Errorf("lost %.3f of the packets on the kernel backend, %.3f in-process (±0.03; a third is over the link's rate)", lost(k), lost(in))
	}
	// The same queue: real time adds up to netem.RealDelaySlack.
	if qk, qi := deref(k.QueueDelayP50MS), deref(in.QueueDelayP50MS); qk < qi-1 || qk > qi+float64(netem.RealDelaySlack/time.Millisecond) || qi < 50 {
		t.Errorf("median queueing delay %.1f ms on the kernel backend, %.1f ms in-process", qk, qi)
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
