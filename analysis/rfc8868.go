package analysis

import (
	"math"
	"slices"
)

// This file holds the metrics RFC 8868 ("Evaluating Congestion Control
// for Interactive Real-Time Media") section 3 asks an evaluation to
// report, and RFC 8867 section 4.1 lists. They work on plain numbers and
// series; which flows and links they are fed is the caller's business.
// Section 3's items, in its order:
//
//  1. sending rate, receiver rate, goodput at 200 ms intervals
//     (RateInterval);
//  2. and 3. packets and bytes sent and received;
//  4. packet delay;
//  5. packets lost, packets discarded by the playout buffer;
//  6. post-repair loss;
//  7. fairness: ratios of average throughput at 1 s, 5 s and 20 s during
//     static periods (StaticWindows, ThroughputRatio, FairnessBound);
//  8. convergence time (ConvergenceTime);
//  9. oscillation between a high and a low watermark (Oscillations);
//  10. bandwidth utilization (Utilization).

// RateInterval is the interval RFC 8868 section 3 item 1 measures the
// sending and receiving rates at, in seconds.
const RateInterval = 0.2

// FairnessWindows are the throughput averaging intervals RFC 8868
// section 3 item 7 gives as examples, in seconds.
var FairnessWindows = []float64{1, 5, 20}

// FairnessBound is RFC 8868 section 3 item 7's guideline: the ratio of
// the throughputs of congestion-controlled flows of the same priority
// and similar RTT lies between 0.333 and 3; as a min/max ratio, at least
// 0.333.
const FairnessBound = 0.333

// Watermarks of RFC 8868 section 3 item 9's example: 500 kbit/s and
// 2 Mbit/s (a factor of 4) within 500 ms.
const (
	WatermarkRatio  = 4
	WatermarkWindow = 0.5
)

// Utilization is the share of the bottleneck capacity a flow (or a set of
// flows) used: the sum of its sending rate over the sum of the capacity,
// over the samples where both are known and the capacity is positive
// (RFC 8868 section 3 item 10, "bandwidth utilization", which it calls
// useful only when the flow is alone or competes with similar
// cross-traffic: not against TCP). Samples are
// taken at one resolution, so the ratio of sums is the ratio of volumes.
// It returns NaN when no sample qualifies.
func Utilization(sent, capacity []float64) float64 {
	var s, c float64
	for i := range min(len(sent), len(capacity)) {
		if capacity[i] <= 0 || math.IsNaN(sent[i]) || math.IsNaN(capacity[i]) {
			continue
		}
		s += sent[i]
		c += capacity[i]
	}
	if c == 0 {
		return math.NaN()
	}
	return s / c
}

// WindowMeans averages the points whose time lies in [from, to) over
// consecutive windows of width seconds: window k covers
// [from+k·width, from+(k+1)·width). Each result's T is its window's
// start. Windows without a finite sample are left out, and so is a last
// window cut short by to.
func WindowMeans(points []Point, from, to, width float64) []Point {
	if width <= 0 || to <= from {
		return nil
	}
	n := int(math.Floor((to-from)/width + 1e-9))
	sums := make([]float64, n)
	counts := make([]int, n)
	for _, p := range points {
		if p.T < from || p.T >= to || math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			continue
		}
		k := int(math.Floor((p.T - from) / width))
		if k >= n {
			continue
		}
		sums[k] += p.V
		counts[k]++
	}
	var out []Point
	for k := range n {
		if counts[k] > 0 {
			out = append(out, Point{T: from + float64(k)*width, V: sums[k] / float64(counts[k])})
		}
	}
	return out
}

// ConvergenceTime is how long after an event at t0 (a capacity change,
// a flow joining or leaving) the rate series first comes within tol
// (relative, e.g. 0.2 for ±20 %) of ref, the rate the flow should settle
// at (RFC 8868 section 3 item 8, "convergence time"; the document leaves
// "stable" open, rtclab reads it as the band). The search stops at
// until: if the rate has not converged by then, it returns until-t0 and
// false (a censored value).
func ConvergenceTime(rate []Point, t0, until, ref, tol float64) (float64, bool) {
	if ref <= 0 {
		return math.NaN(), false
	}
	for _, p := range rate {
		if p.T < t0 || math.IsNaN(p.V) {
			continue
		}
		if p.T >= until {
			break
		}
		if math.Abs(p.V-ref) <= tol*ref {
			return p.T - t0, true
		}
	}
	return until - t0, false
}

// Oscillations counts the swings RFC 8868 section 3 item 9 defines as
// instability: "the number of instances when the sending rate oscillates
// between a high watermark level and a low watermark level, or
// vice-versa, in a defined time window". A swing is a point at or below
// low within window seconds of the last point at or above high (or the
// other way round), after the rate was last at the other watermark; each
// crossing counts once. Points must be in time order; NaN is skipped.
func Oscillations(rate []Point, low, high, window float64) int {
	lastLow, lastHigh := math.Inf(-1), math.Inf(-1)
	state := 0 // -1 last at the low watermark, +1 at the high one
	n := 0
	for _, p := range rate {
		switch {
		case math.IsNaN(p.V):
		case p.V <= low:
			if state == 1 && p.T-lastHigh <= window+1e-9 {
				n++
			}
			lastLow, state = p.T, -1
		case p.V >= high:
			if state == -1 && p.T-lastLow <= window+1e-9 {
				n++
			}
			lastHigh, state = p.T, 1
		}
	}
	return n
}

// RateVariation is the coefficient of variation (population standard
// deviation over mean) of a rate sampled where the conditions do not
// change: 0 for a flat rate, larger the more it swings. It measures the
// magnitude of oscillation RFC 8867 section 4.1 item 1.B asks to observe
// (Oscillations counts their frequency). NaN for fewer than two values
// or a zero mean.
func RateVariation(xs []float64) float64 {
	if len(xs) < 2 {
		return math.NaN()
	}
	m := Mean(xs)
	if m == 0 {
		return math.NaN()
	}
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss/float64(len(xs))) / m
}

// ThroughputRatio measures fairness between flows as RFC 8868 section 3
// item 7 asks, by the ratio of their throughputs: in every window where each
// flow has a value, the smallest throughput over the largest (1 when they
// share equally, towards 0 when one starves), averaged over the windows.
// flows[i][k] is flow i's mean throughput in window k; NaN marks a window
// where it was not active. NaN when no window has every flow.
func ThroughputRatio(flows [][]float64) float64 {
	if len(flows) < 2 {
		return math.NaN()
	}
	n := len(flows[0])
	for _, f := range flows[1:] {
		n = min(n, len(f))
	}
	var sum float64
	var windows int
	for k := range n {
		lo, hi := math.Inf(1), math.Inf(-1)
		ok := true
		for _, f := range flows {
			v := f[k]
			if math.IsNaN(v) {
				ok = false
				break
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if !ok {
			continue
		}
		windows++
		if hi > 0 {
			sum += lo / hi
		} else {
			sum++ // all idle: equal
		}
	}
	if windows == 0 {
		return math.NaN()
	}
	return sum / float64(windows)
}

// StaticWindows cuts [from, to) at the changes (capacity steps, flows
// joining, leaving, pausing) into static periods, RFC 8868 section 3
// item 7's "bottleneck bandwidth is constant and no arrival/departure of
// streams", and returns the whole windows of width seconds each period
// holds, counted from the period's start: [start, end) pairs. A window
// never spans a change.
func StaticWindows(changes []float64, from, to, width float64) [][2]float64 {
	if width <= 0 || to <= from {
		return nil
	}
	cuts := []float64{from}
	for _, c := range changes {
		if c > from && c < to {
			cuts = append(cuts, c)
		}
	}
	slices.Sort(cuts)
	cuts = append(slices.Compact(cuts), to)
	var out [][2]float64
	for i := 0; i+1 < len(cuts); i++ {
		for a := cuts[i]; a+width <= cuts[i+1]+1e-9; a += width {
			out = append(out, [2]float64{a, a + width})
		}
	}
	return out
}

// CDF returns the 0th to 100th percentiles of xs in steps of 100/(n-1)
// (n points, at least 2), for drawing a cumulative distribution; nil for
// an empty slice.
func CDF(xs []float64, n int) []float64 {
	if len(xs) == 0 {
		return nil
	}
	n = max(n, 2)
	out := make([]float64, n)
	for i := range n {
		out[i] = Percentile(xs, 100*float64(i)/float64(n-1))
	}
	return out
}
