package analysis

import (
	"math"
	"sort"
	"time"
)

// Resolution is the sampling period of every recorded series.
const Resolution = 100 * time.Millisecond

// Point is one sample of a Series.
type Point struct {
	// T is the scenario time of the sample, in seconds since the scenario start.
	T float64 `json:"t"`
	// V is the sampled value, in the series' Unit.
	V float64 `json:"v"`
}

// Series is a named time series sampled at Resolution.
type Series struct {
	// Name identifies the series, e.g. "bitrate alice->bob video".
	Name string `json:"name"`
	// Metric is what is measured, e.g. "bitrate_kbps", "loss_fraction", "rtt_ms".
	Metric string `json:"metric"`
	// Unit is the unit of V, e.g. "kbps", "ms", "fraction".
	Unit string `json:"unit"`
	// Points are the samples in time order.
	Points []Point `json:"points"`
}

// Event is a timestamped thing that happened during a run.
type Event struct {
	// T is the scenario time in seconds since the scenario start.
	T float64 `json:"t"`
	// Source names who reported it ("alice", "sfu", "runner").
	Source string `json:"source"`
	// Kind is a short machine-readable tag ("ice-state", "connected", "pli").
	Kind string `json:"kind"`
	// Detail is human-readable text.
	Detail string `json:"detail,omitempty"`
}

// Values returns the V of every point.
func (s Series) Values() []float64 {
	out := make([]float64, len(s.Points))
	for i, p := range s.Points {
		out[i] = p.V
	}
	return out
}

// Mean returns the arithmetic mean of xs, or NaN for an empty slice.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// Percentile returns the p-th percentile (0..100) of xs by linear
// interpolation between closest ranks, or NaN for an empty slice.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if p <= 0 {
		return s[0]
	}
	if p >= 100 {
		return s[len(s)-1]
	}
	rank := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	frac := rank - float64(lo)
	return s[lo] + (s[hi]-s[lo])*frac
}
