package netem

import (
	"math"
	"testing"
	"time"
)

// The real-time judges pass a link that does what it was told despite a
// stall, and fail one that does not.
func TestRealTimeJudges(t *testing.T) {
	t0 := time.Unix(0, 0)
	ms := time.Millisecond
	// arrivals: n packets sent every `every`, each delayed by delay(i),
	// and a 300 ms stall that holds packets 100-129.
	measure := func(n int, every time.Duration, delay func(i int) time.Duration) probeMeasure {
		m := probeMeasure{sent: n}
		for i := range n {
			sent := t0.Add(time.Duration(i) * every)
			at := sent.Add(delay(i))
			if i >= 100 && i < 130 {
				at = t0.Add(100*every + 300*ms)
			}
			m.arrivals = append(m.arrivals, arrival{seq: uint32(i), sent: sent, at: at, bytes: 1250})
		}
		return m
	}
	c := fidelityCase{name: "t", size: 1250 - udpOverhead}
	uniform := func(i int) time.Duration { return 50*ms + time.Duration((i*7919)%2001-1000)*10*time.Microsecond }
	// 50 ms + |N(0, 10 ms²)| clamped at 30 ms, at 2000 evenly spread quantiles.
	halfNormal := func(i int) time.Duration {
		u := (float64((i*7919)%2000) + 0.5) / 2000
		return 50*ms + time.Duration(min(3, math.Sqrt2*math.Erfinv(u))*10*float64(ms))
	}
	for _, tc := range []struct {
		name  string
		judge func(fidelityCase, probeMeasure) []FidelityResult
		m     probeMeasure
		pass  bool
	}{
		{"delay as configured", judgeDelayReal(50, 10, JitterUniform), measure(2000, ms, uniform), true},
		{"delay 10 ms long", judgeDelayReal(50, 10, JitterUniform), measure(2000, ms, func(i int) time.Duration { return uniform(i) + 10*ms }), false},
		{"jitter twice as wide", judgeDelayReal(50, 10, JitterUniform), measure(2000, ms, func(i int) time.Duration { return 2*uniform(i) - 50*ms }), false},
		{"half-normal as configured", judgeDelayReal(50, 10, JitterHalfNormal), measure(2000, ms, halfNormal), true},
		{"half-normal mirrored below the delay", judgeDelayReal(50, 10, JitterHalfNormal), measure(2000, ms, func(i int) time.Duration { return 100*ms - halfNormal(i) }), false},
		// A full 1 Mbit/s queue of 100 ms: 1250-byte packets leave 10 ms apart.
		{"rate as configured", judgeRateReal(1e6, 100), measure(2000, 10*ms, func(int) time.Duration { return 100 * ms }), true},
		{"rate 20 % short", judgeRateReal(1e6, 100), measure(2000, 12500*time.Microsecond, func(int) time.Duration { return 100 * ms }), false},
		{"queue twice as long", judgeRateReal(1e6, 100), measure(2000, 10*ms, func(int) time.Duration { return 200 * ms }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pass := true
			for _, r := range tc.judge(c, tc.m) {
				if !r.Pass {
					pass = false
					t.Logf("%s: %g against %g ±%g", r.Quantity, r.Measured, r.Configured, r.Tolerance)
				}
			}
			if pass != tc.pass {
				t.Errorf("pass %v, want %v", pass, tc.pass)
			}
		})
	}
}
