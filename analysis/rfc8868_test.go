package analysis

import (
	"math"
	"testing"
)

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-9
}

func TestUtilization(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name      string
		sent, cap []float64
		want      float64
	}{
		{"full", []float64{1000, 1000}, []float64{1000, 1000}, 1},
		// volumes: (500+1500)/(1000+2500) = 2000/3500
		{"capacity change", []float64{500, 1500}, []float64{1000, 2500}, 2000.0 / 3500},
		{"skips unknown capacity", []float64{500, 800, 900}, []float64{1000, 0, nan}, 0.5},
		{"nothing to compare", []float64{1}, nil, nan},
	} {
		if got := Utilization(tc.sent, tc.cap); !near(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWindowMeans(t *testing.T) {
	pts := []Point{{0, 1}, {0.5, 3}, {1, 10}, {1.5, math.NaN()}, {2.2, 7}, {2.9, 9}}
	got := WindowMeans(pts, 0, 3, 1)
	want := []Point{{0, 2}, {1, 10}, {2, 8}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("window %d: got %v, want %v", i, got[i], want[i])
		}
	}
	if got := WindowMeans(pts, 0, 2.5, 1); len(got) != 2 {
		t.Errorf("a window cut short must be left out: %v", got)
	}
}

func TestConvergenceTime(t *testing.T) {
	rate := []Point{{10, 100}, {11, 500}, {12, 810}, {13, 1150}, {14, 1000}}
	for _, tc := range []struct {
		name      string
		t0, until float64
		ref, tol  float64
		want      float64
		converged bool
	}{
		{"enters the ±20% band at 12 s", 10, 20, 1000, 0.2, 2, true},
		{"tighter band: 14 s", 10, 20, 1000, 0.1, 4, true},
		{"censored at until", 10, 13, 1000, 0.01, 3, false},
		{"event later", 12.5, 20, 1000, 0.2, 0.5, true},
	} {
		got, ok := ConvergenceTime(rate, tc.t0, tc.until, tc.ref, tc.tol)
		if !near(got, tc.want) || ok != tc.converged {
			t.Errorf("%s: got %v %v, want %v %v", tc.name, got, ok, tc.want, tc.converged)
		}
	}
}

func TestOscillation(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{5, 5, 5}, 0},
		// mean 10, deviations ±5 -> sd 5 -> 0.5
		{[]float64{5, 15, 5, 15}, 0.5},
		{[]float64{1}, math.NaN()},
		{[]float64{0, 0}, math.NaN()},
	} {
		if got := Oscillation(tc.xs); !near(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.xs, got, tc.want)
		}
	}
}

func TestThroughputRatio(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name  string
		flows [][]float64
		want  float64
	}{
		{"equal", [][]float64{{1, 2}, {1, 2}}, 1},
		// windows: 1/2, 3/4 -> mean 0.625
		{"unequal", [][]float64{{1, 4}, {2, 3}}, 0.625},
		// only window 1 has both: 2/4
		{"one joins later", [][]float64{{4, 4}, {nan, 2}}, 0.5},
		{"three flows", [][]float64{{1}, {2}, {4}}, 0.25},
		{"never together", [][]float64{{1, nan}, {nan, 1}}, nan},
		{"one flow", [][]float64{{1}}, nan},
	} {
		if got := ThroughputRatio(tc.flows); !near(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPercentileQueueDelay(t *testing.T) {
	// 20 delays 1..20 ms: median 10.5, p95 rank 0.95*19 = 18.05 -> 19.05
	xs := make([]float64, 20)
	for i := range xs {
		xs[i] = float64(20 - i)
	}
	if got := Percentile(xs, 50); !near(got, 10.5) {
		t.Errorf("median %v", got)
	}
	if got := Percentile(xs, 95); !near(got, 19.05) {
		t.Errorf("p95 %v", got)
	}
	cdf := CDF(xs, 3)
	if len(cdf) != 3 || cdf[0] != 1 || cdf[1] != 10.5 || cdf[2] != 20 {
		t.Errorf("cdf %v", cdf)
	}
}
