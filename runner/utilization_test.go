package runner

import (
	"math"
	"testing"

	"github.com/rtclab/rtclab/scenarios"
)

// Utilization sets the media's rate against the bottleneck's capacity in
// the same units, IP packet bytes (RFC 8868 section 3 item 10; netem
// counts capacity with the IPv4 and UDP headers, docs/netem.md). The
// audio flow is 50 packets a second of 38 bytes of payload and a 12-byte
// RTP header over plain UDP: 78-byte IP packets, 31.2 kbit/s on a
// 100 kbit/s link, utilization 0.312. The old build counted the flows'
// RTP bytes: 20 kbit/s, 0.20. A CBR flow beside it on the link is left
// out, as before: 0.312 still.
func TestUtilizationCountsTheWire(t *testing.T) {
	for _, cbr := range []string{"", "\n  - {name: cbr, kind: cbr, from: a, to: b, rate: 40kbps}"} {
		s, err := scenarios.Parse("util.yaml", []byte(`name: util
topology: flows
duration: 10s
participants:
  - name: a
    uplink: {rate: 100kbps, queue: 300ms}
  - name: b
    downlink: {delay: 20ms}
flows:
  - {name: voice, kind: audio, from: a, to: b}`+cbr+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := runVirtual(t, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Bandwidth == nil || len(rep.Bandwidth.Links) != 1 || rep.Bandwidth.Links[0].Utilization == nil {
			t.Fatalf("no utilization: %+v", rep.Bandwidth)
		}
		const want = 50 * 78 * 8 / 100e3 // 0.312
		if got := *rep.Bandwidth.Links[0].Utilization; math.Abs(got-want) > 0.005 {
			t.Errorf("cbr %q: utilization %.4f, want %.3f (78-byte IP packets, 50 a second, on 100 kbit/s)", cbr, got, want)
		}
	}
}
