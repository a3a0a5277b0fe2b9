package analysis

import (
	"math"
	"testing"
	"time"
)

func TestEstimateMOS(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		in      EModelInput
		wantR   float64
		wantMOS float64
	}{
		// No loss, short delay: R0 itself, the best narrowband MOS.
		{"perfect", EModelInput{OneWayDelay: 20 * ms}, 93.2, 4.41},
		// Ta = 73.5 ms + ... still below 100 ms: no delay impairment.
		{"jitter inside 100 ms", EModelInput{OneWayDelay: 40 * ms, Jitter: 10 * ms}, 93.2, 4.41},
		// 1 % random loss: Ie,eff = 95 × 1 / (1 + 25.1) = 3.64.
		{"1% loss", EModelInput{OneWayDelay: 20 * ms, Loss: 0.01}, 89.56, 4.33},
		// 5 %: 95 × 5 / 30.1 = 15.78.
		{"5% loss", EModelInput{OneWayDelay: 20 * ms, Loss: 0.05}, 77.42, 3.92},
		// 5 % in bursts of ratio 2: 95 × 5 / (2.5 + 25.1) = 17.21.
		{"5% bursty loss", EModelInput{OneWayDelay: 20 * ms, Loss: 0.05, BurstR: 2}, 75.99, 3.86},
		// 20 %: 95 × 20 / 45.1 = 42.13.
		{"20% loss", EModelInput{OneWayDelay: 20 * ms, Loss: 0.2}, 51.07, 2.63},
		// Ta = 226.5 ms: Idd = 25((1+x^6)^(1/6) − 3(1+(x/3)^6)^(1/6) + 2)
		// with x = log2(2.265) = 1.18: Idd = 6.04.
		{"200 ms one way", EModelInput{OneWayDelay: 200 * ms}, 87.16, 4.26},
		// Ta = 426.5 ms: Idd = 26.04, past the 400 ms G.114 limit.
		{"400 ms one way", EModelInput{OneWayDelay: 400 * ms}, 67.16, 3.46},
		// The jitter buffer's 2 × jitter counts as delay: Ta = 150 + 2 × 50
		// + 26.5 = 276.5 ms, x = log2(2.765) = 1.47, Idd = 12.10 (without
		// it Ta = 176.5 ms and Idd = 1.12).
		{"jitter adds delay", EModelInput{OneWayDelay: 150 * ms, Jitter: 50 * ms}, 81.10, 4.06},
		// 100 %: Ie,eff = 95 × 100 / 125.1 = 75.94.
		{"everything lost", EModelInput{Loss: 1}, 17.26, 1.18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EstimateMOS(tt.in)
			if math.Abs(got.R-tt.wantR) > 0.05 || math.Abs(got.MOS-tt.wantMOS) > 0.01 {
				t.Fatalf("R %.2f MOS %.2f, want R %.2f MOS %.2f (Id %.2f Ie %.2f)", got.R, got.MOS, tt.wantR, tt.wantMOS, got.Id, got.IeEff)
			}
		})
	}
}

func TestRToMOS(t *testing.T) {
	for _, tt := range []struct{ r, mos float64 }{{-5, 1}, {0, 1}, {50, 2.58}, {80, 4.02}, {93.2, 4.41}, {100, 4.5}} {
		if got := RToMOS(tt.r); math.Abs(got-tt.mos) > 0.01 {
			t.Errorf("RToMOS(%v) = %.3f, want %.2f", tt.r, got, tt.mos)
		}
	}
}
