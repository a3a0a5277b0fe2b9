package analysis

import (
	"math"
)

// This file holds the metrics RFC 8868 ("Evaluating Congestion Control
// for Interactive Real-Time Media") asks an evaluation to report. They
// work on plain numbers and series; which flows and links they are fed
// is the caller's business.

// Utilization is the share of the bottleneck capacity a flow (or a set of
// flows) used: the sum of its sending rate over the sum of the capacity,
// over the samples where both are known and the capacity is positive
// (RFC 8868 section 2, "utilization of the bottleneck link"). Samples are
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
// at (RFC 8868 section 2, "convergence time"). The search stops at
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

// Oscillation is the coefficient of variation (population standard
// deviation over mean) of a rate sampled where the conditions do not
// change: 0 for a flat rate, larger the more it swings (RFC 8868 section
// 2 asks for the variation of the sending rate once converged). NaN for
// fewer than two values or a zero mean.
func Oscillation(xs []float64) float64 {
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

// ThroughputRatio measures fairness between flows as RFC 8868 section 2
// suggests, by the ratio of their throughputs: in every window where each
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
