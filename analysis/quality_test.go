package analysis

import (
	"math"
	"testing"
)

func plane(w, h int, f func(x, y int) int) []byte {
	out := make([]byte, w*h)
	for y := range h {
		for x := range w {
			out[y*w+x] = byte(max(0, min(255, f(x, y))))
		}
	}
	return out
}

func TestPSNRAndSSIM(t *testing.T) {
	const w, h = 64, 48
	ramp := plane(w, h, func(x, y int) int { return 2*x + y })
	// A constant offset of 5: MSE 25, PSNR = 10 log10(65025/25) = 34.15 dB.
	shifted := plane(w, h, func(x, y int) int { return 2*x + y + 5 })
	// Every other pixel off by ±10: MSE 100, PSNR 28.13 dB, structure hurt.
	noisy := plane(w, h, func(x, y int) int {
		if (x+y)%2 == 0 {
			return 2*x + y + 10
		}
		return 2*x + y - 10
	})
	flat := plane(w, h, func(int, int) int { return 128 })
	tests := []struct {
		name       string
		b          []byte
		psnr       float64
		ssimLo, hi float64
	}{
		{"identical", ramp, MaxPSNR, 1, 1},
		{"brightness offset", shifted, 34.15, 0.98, 1},
		{"noise", noisy, 28.14, 0.3, 0.9}, // 28.13 but for a few pixels clamped at 0
		// Flat grey against a gentle ramp: the means match, the contrast
		// term is C2 / (σ² + C2) with σ² ≈ 26 per window.
		{"ramp flattened", flat, 0, 0.5, 0.7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PSNR(ramp, tt.b)
			if tt.psnr > 0 && math.Abs(p-tt.psnr) > 0.01 {
				t.Errorf("PSNR %.2f, want %.2f", p, tt.psnr)
			}
			s := SSIM(ramp, tt.b, w, h)
			if s < tt.ssimLo-1e-9 || s > tt.hi+1e-9 {
				t.Errorf("SSIM %.4f, want %.2f..%.2f", s, tt.ssimLo, tt.hi)
			}
		})
	}
	checker := plane(w, h, func(x, y int) int { return 255 * ((x + y) % 2) })
	if s := SSIM(checker, flat, w, h); s > 0.01 {
		t.Errorf("checkerboard against flat grey: SSIM %.4f, want about 0", s)
	}
	if !math.IsNaN(PSNR(ramp, ramp[:10])) || !math.IsNaN(SSIM(ramp, ramp, 4, 4)) {
		t.Error("mismatched sizes must give NaN")
	}
}
