package analysis

import "math"

// MaxPSNR is the PSNR reported for two identical pictures, whose mean
// squared error is 0 (ffmpeg's psnr filter caps the same way, at a
// similar value).
const MaxPSNR = 100.0

// PSNR is the peak signal-to-noise ratio in dB of two 8-bit planes of the
// same size: 10 × log10(255² / MSE).
func PSNR(a, b []byte) float64 {
	return PSNRFromMSE(MSE(a, b))
}

// MSE is the mean squared error of two 8-bit planes of the same size.
func MSE(a, b []byte) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	var sum float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		sum += d * d
	}
	return sum / float64(len(a))
}

// PSNRFromMSE turns a mean squared error of 8-bit samples into a PSNR in
// dB, capped at MaxPSNR. The PSNR of a whole video is this of the mean of
// its frames' MSEs (as ffmpeg's psnr filter reports its average), not the
// mean of the frames' PSNRs, which a few identical frames would push to
// the cap.
func PSNRFromMSE(mse float64) float64 {
	switch {
	case math.IsNaN(mse):
		return math.NaN()
	case mse == 0:
		return MaxPSNR
	}
	return math.Min(10*math.Log10(255*255/mse), MaxPSNR)
}

// SSIM is the structural similarity (Wang, Bovik, Sheikh and Simoncelli,
// IEEE Trans. Image Processing 13(4), 2004) of two 8-bit planes of
// width × height: the mean over 8×8 windows, stepped by 4 pixels as
// ffmpeg's ssim filter does, of
// (2μaμb + C1)(2σab + C2) / ((μa² + μb² + C1)(σa² + σb² + C2)),
// with C1 = (0.01 × 255)² and C2 = (0.03 × 255)². 1 means identical.
func SSIM(a, b []byte, width, height int) float64 {
	const win, step = 8, 4
	if len(a) != width*height || len(b) != len(a) || width < win || height < win {
		return math.NaN()
	}
	c1 := math.Pow(0.01*255, 2)
	c2 := math.Pow(0.03*255, 2)
	var total float64
	var n int
	for y := 0; y+win <= height; y += step {
		for x := 0; x+win <= width; x += step {
			var sa, sb, saa, sbb, sab float64
			for j := range win {
				row := (y+j)*width + x
				for i := range win {
					va, vb := float64(a[row+i]), float64(b[row+i])
					sa += va
					sb += vb
					saa += va * va
					sbb += vb * vb
					sab += va * vb
				}
			}
			const np = win * win
			ma, mb := sa/np, sb/np
			va := saa/np - ma*ma
			vb := sbb/np - mb*mb
			cov := sab/np - ma*mb
			total += (2*ma*mb + c1) * (2*cov + c2) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
			n++
		}
	}
	return total / float64(n)
}
