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

func TestRateVariation(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"flat", []float64{5, 5, 5}, 0},
		// mean 2, population sd 1
		{"swing", []float64{1, 3, 1, 3}, 0.5},
		{"one value", []float64{1}, math.NaN()},
		{"zero mean", []float64{0, 0}, math.NaN()},
	} {
		if got := RateVariation(tc.xs); !near(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestOscillations counts watermark swings by hand (RFC 8868 section 3
// item 9): watermarks 500 and 2000 kbit/s, a 500 ms window, 200 ms samples.
func TestOscillations(t *testing.T) {
	series := func(vs ...float64) []Point {
		out := make([]Point, len(vs))
		for i, v := range vs {
			out[i] = Point{T: 0.2 * float64(i), V: v}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		rate   []Point
		window float64
		want   int
	}{
		// 2500 at 0.0, 400 at 0.2 (swing 1), 2100 at 0.4 (swing 2),
		// 1000 at 0.6 (between), 300 at 0.8 (0.4 s after 2100: swing 3).
		{"three swings", series(2500, 400, 2100, 1000, 300), 0.5, 3},
		// The same levels 0.6 s apart: slower than the window.
		{"slow swings do not count", series(2500, 1000, 1000, 400, 1000, 1000, 2500), 0.5, 0},
		// Staying low after a swing counts once.
		{"one crossing, then flat", series(2500, 400, 400, 400, 400), 0.5, 1},
		{"never reaches the high watermark", series(400, 1500, 400, 1900, 450), 0.5, 0},
		{"NaN skipped", []Point{{0, 2500}, {0.2, math.NaN()}, {0.4, 400}}, 0.5, 1},
		{"wider window", series(2500, 1000, 1000, 400), 0.6, 1},
	} {
		if got := Oscillations(tc.rate, 500, 2000, tc.window); got != tc.want {
			t.Errorf("%s: %d swings, want %d", tc.name, got, tc.want)
		}
	}
}

// TestStaticWindows checks RFC 8868 section 3 item 7's static periods by
// hand: a capacity step at 25 s and a join at 50 s cut a 60 s run.
func TestStaticWindows(t *testing.T) {
	for _, tc := range []struct {
		name    string
		changes []float64
		width   float64
		want    [][2]float64
	}{
		// [0,25) holds one 20 s window; [25,50) one from 25; [50,60) none.
		{"20 s windows skip the step", []float64{25, 50}, 20, [][2]float64{{0, 20}, {25, 45}}},
		// 5 s windows: five before the step, five after, two after the join.
		{"5 s windows", []float64{50, 25, 25}, 5, [][2]float64{{0, 5}, {5, 10}, {10, 15}, {15, 20}, {20, 25}, {25, 30}, {30, 35}, {35, 40}, {40, 45}, {45, 50}, {50, 55}, {55, 60}}},
		{"no change: one 20 s window per 20 s", nil, 20, [][2]float64{{0, 20}, {20, 40}, {40, 60}}},
		{"changes outside ignored", []float64{-5, 0, 60, 70}, 30, [][2]float64{{0, 30}, {30, 60}}},
	} {
		got := StaticWindows(tc.changes, 0, 60, tc.width)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if !near(got[i][0], tc.want[i][0]) || !near(got[i][1], tc.want[i][1]) {
				t.Errorf("%s: window %d is %v, want %v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}

// TestFairness20s computes a 20 s fairness window by hand: flow a sends
// 1200 kbit/s, flow b 400 for 10 s then 800; their 20 s means are 1200
// and 600, a ratio of 0.5 - inside RFC 8868's 0.333 bound although b's
// first 10 s alone (1/3 of a) would sit right at it.
func TestFairness20s(t *testing.T) {
	var a, b []Point
	for i := range 40 { // 0.5 s samples over 20 s
		ts := 0.5 * float64(i)
		a = append(a, Point{ts, 1200})
		v := 400.0
		if ts >= 10 {
			v = 800
		}
		b = append(b, Point{ts, v})
	}
	wa, wb := WindowMeans(a, 0, 20, 20), WindowMeans(b, 0, 20, 20)
	if len(wa) != 1 || len(wb) != 1 || wa[0].V != 1200 || wb[0].V != 600 {
		t.Fatalf("20 s means %v %v", wa, wb)
	}
	r := ThroughputRatio([][]float64{{wa[0].V}, {wb[0].V}})
	if !near(r, 0.5) || r < FairnessBound {
		t.Errorf("ratio %v, want 0.5", r)
	}
	w10a, w10b := WindowMeans(a, 0, 10, 10), WindowMeans(b, 0, 10, 10)
	if r := ThroughputRatio([][]float64{{w10a[0].V}, {w10b[0].V}}); !near(r, 1.0/3) || r >= FairnessBound+0.001 {
		t.Errorf("first 10 s ratio %v, want 1/3", r)
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
