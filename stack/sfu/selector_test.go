package sfu

import (
	"testing"
	"time"
)

func TestSelector(t *testing.T) {
	rates := []float64{150e3, 300e3, 600e3}
	type step struct {
		at     time.Duration
		budget float64
		rates  []float64
		want   int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first choice is the highest that fits", []step{{0, 1e6, rates, 2}}},
		{"first choice with little bandwidth", []step{{0, 400e3, rates, 1}}},
		{"nothing fits: lowest layer", []step{{0, 50e3, rates, 0}}},
		{"down at once", []step{{0, 1e6, rates, 2}, {250 * time.Millisecond, 280e3, rates, 0}}},
		{"up only after the hold", []step{
			{0, 200e3, rates, 0},
			{250 * time.Millisecond, 1e6, rates, 0},
			{1 * time.Second, 1e6, rates, 0},
			{2250 * time.Millisecond, 1e6, rates, 2},
		}},
		{"up needs headroom", []step{
			{0, 200e3, rates, 0},
			{time.Second, 320e3, rates, 0}, // 300k layer fits, not with 25 % headroom
			{4 * time.Second, 320e3, rates, 0},
		}},
		{"a dip restarts the hold", []step{
			{0, 200e3, rates, 0},
			{time.Second, 1e6, rates, 0},
			{2 * time.Second, 160e3, rates, 0},
			{3500 * time.Millisecond, 1e6, rates, 0},
			{5600 * time.Millisecond, 1e6, rates, 2},
		}},
		{"no way up soon after going down", []step{
			{0, 1e6, rates, 2},
			{time.Second, 200e3, rates, 0},
			{2 * time.Second, 1e6, rates, 0},
			{5 * time.Second, 1e6, rates, 0}, // fits since 2 s, but only 4 s after going down
			{7 * time.Second, 1e6, rates, 0}, // backoff over at 7 s: the hold starts
			{9 * time.Second, 1e6, rates, 2},
		}},
		{"a layer not received is skipped", []step{{0, 1e6, []float64{150e3, 300e3, 0}, 1}}},
		{"current layer stops: move at once", []step{
			{0, 1e6, rates, 2},
			{time.Second, 1e6, []float64{150e3, 300e3, 0}, 1},
		}},
		{"up exactly when the hold is over", []step{
			{0, 200e3, rates, 0},
			{time.Second, 1e6, rates, 0},
			{2500 * time.Millisecond, 1e6, rates, 0},
			{3 * time.Second, 1e6, rates, 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSelector()
			t0 := time.Unix(0, 0)
			for i, st := range tt.steps {
				if got := s.choose(st.budget, st.rates, t0.Add(st.at)); got != st.want {
					t.Fatalf("step %d (%v, %.0f bps): layer %d, want %d", i, st.at, st.budget, got, st.want)
				}
			}
		})
	}
}
