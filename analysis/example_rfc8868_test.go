package analysis_test

import (
	"fmt"
	"math"

	"github.com/rtclab/rtclab/analysis"
)

// Two media flows share a 2000 kbit/s bottleneck, sampled once a second.
// The RFC 8868 metrics say how much of the link they used, how fairly they
// shared it, how long the second took to reach its share after joining
// at t=2 s, and how often the first one's rate swings between watermarks.
func ExampleThroughputRatio() {
	capacity := []float64{2000, 2000, 2000, 2000, 2000, 2000}
	a := []float64{1200, 1500, 1300, 1100, 1000, 900}
	b := []float64{0, 0, 300, 700, 900, 1000}
	sent := make([]float64, len(a))
	for i := range a {
		sent[i] = a[i] + b[i]
	}
	fmt.Printf("utilization %.2f\n", analysis.Utilization(sent, capacity))

	nan := math.NaN() // b had not joined yet
	fmt.Printf("fairness %.2f\n", analysis.ThroughputRatio([][]float64{a, {nan, nan, 300, 700, 900, 1000}}))

	var rate []analysis.Point
	for i, v := range b {
		rate = append(rate, analysis.Point{T: float64(i), V: v})
	}
	took, ok := analysis.ConvergenceTime(rate, 2, 6, 1000, 0.2)
	fmt.Printf("b converged %v after %.0f s\n", ok, took)
	var ra []analysis.Point
	for i, v := range a {
		ra = append(ra, analysis.Point{T: float64(i), V: v})
	}
	// Swings between 500 and 2000 kbit/s within 500 ms: none at 1 s samples.
	fmt.Printf("oscillations of a %d\n", analysis.Oscillations(ra, 500, 2000, analysis.WatermarkWindow))
	// Output:
	// utilization 0.82
	// fairness 0.67
	// b converged true after 2 s
	// oscillations of a 0
}
