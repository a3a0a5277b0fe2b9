package runner

import (
	"math"
	"testing"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/scenarios"
)

// TestTCPVariation: RFC 8867 section 5.7's variation in the sending rate
// of the TCP flow is the coefficient of variation of its 1 s rate over
// its 10 s, from 100 ms samples: flat is 0, on and off each second is 1,
// one second at twice the rate is 300/1100.
func TestTCPVariation(t *testing.T) {
	s, err := scenarios.Parse("t.yaml", []byte("name: x\ntopology: flows\nduration: 10s\nparticipants:\n  - {name: a, uplink: {rate: 1Mbps}}\n  - name: b\nflows:\n  - {name: web, kind: tcp, from: a, to: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rate func(second int) float64
		want float64
	}{
		{"flat", func(int) float64 { return 1000 }, 0},
		{"on and off", func(s int) float64 { return float64(1000 * (s % 2)) }, 1},
		{"one second doubled", func(s int) float64 {
			if s == 4 {
				return 2000
			}
			return 1000
		}, 300.0 / 1100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &flowState{in: s.FlowInstances[0]}
			for i := 1; i <= 100; i++ {
				st.series.t = append(st.series.t, 0.1*float64(i))
				st.series.send = append(st.series.send, tc.rate((i-1)/10))
			}
			if got := st.tcpVariation(); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("variation %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOscillationOfAFlow: the magnitude of oscillation (RFC 8867 section
// 4.1 item 1.B) of a media flow alone on 1 Mbit/s is the coefficient of
// variation of its 1 s rates over its share from 5 s after its start:
// 900, 1100, 900, 1100, 900 kbit/s in seconds 5 to 9 give 97.98/980.
// Each 100 ms sample belongs to the second it was measured in; placed at
// its end instead, a tenth of each second's rate went to the next one.
func TestOscillationOfAFlow(t *testing.T) {
	s, err := scenarios.Parse("t.yaml", []byte("name: x\ntopology: flows\nduration: 10s\nparticipants:\n  - {name: a, uplink: {rate: 1Mbps}}\n  - name: b\nflows:\n  - {name: v, kind: media, from: a, to: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := hop{participant: "a", dir: netem.Uplink}
	st := &flowState{in: s.FlowInstances[0], link: h.String(), hops: []hop{h}, ratio: 1}
	for i := 1; i <= 100; i++ {
		sec := (i - 1) / 10
		v := 1000.0
		if sec >= 5 {
			v = 900 + 200*float64((sec-5)%2)
		}
		st.series.t = append(st.series.t, 0.1*float64(i))
		st.series.wire = append(st.series.wire, v)
	}
	r := &flowRun{s: s, flows: []*flowState{st}}
	want := math.Sqrt((3*80*80+2*120*120)/5.0) / 980
	if got := r.oscillation(st, nil); math.Abs(got-want) > 1e-9 {
		t.Errorf("oscillation %.4f, want %.4f", got, want)
	}
}
