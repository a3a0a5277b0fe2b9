package runner

import (
	"context"
	"fmt"
	"testing"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/scenarios"
)

const qualityScenario = `
name: quality
duration: 10s
participants:
  - name: alice
    publish: [video]
    video: %s
    uplink: {delay: 10ms}
    downlink: {delay: 10ms}
  - name: bob
    downlink: {loss: %s, delay: 30ms}
expect:
  - metric: connected
    min: 1
`

// measure runs alice -> bob with the codec and loss given, and returns
// the picture quality bob got.
func measure(t *testing.T, codec, loss string) Quality {
	t.Helper()
	s, err := scenarios.Parse("quality.yaml", []byte(fmt.Sprintf(qualityScenario, codec, loss)))
	if err != nil {
		t.Fatal(err)
	}
	capt := &MediaCapture{}
	if _, err := runVirtual(t, s, Options{Media: capt}); err != nil {
		t.Fatal(err)
	}
	// Outside the bubble: ffmpeg is a real process.
	q, err := MeasureQuality(context.Background(), capt, nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 {
		t.Fatalf("%d streams measured, want 1", len(q))
	}
	t.Logf("%s, %s loss: %d frames sent while shown, PSNR %.2f dB, SSIM %.4f; %d frames shown, PSNR %.2f dB, SSIM %.4f",
		codec, loss, q[0].Frames, q[0].PSNR, q[0].SSIM, q[0].Shown, q[0].ShownPSNR, q[0].ShownSSIM)
	return q[0]
}

// Received video decoded by ffmpeg matches the clip it was sent from,
// frame by frame. On a clean link every frame is shown and decodes to
// exactly the clip's picture (PSNR at the 100 dB cap). With 5 % loss,
// repaired by NACK/RTX and keyframes, every frame that is shown still
// decodes exactly, but some are never shown: the viewer keeps the previous
// picture on screen, and comparing every sent frame with what was on
// screen shows the cost.
func TestQualityCleanAndLossy(t *testing.T) {
	realpeer.Binary(t, "ffmpeg")
	realpeer.Binary(t, "ffprobe")
	for _, codec := range []string{"vp8", "h264"} {
		t.Run(codec, func(t *testing.T) {
			clean := measure(t, codec, "0%")
			if clean.PSNR < 99 || clean.SSIM < 0.999 || clean.Shown != clean.Frames {
				t.Errorf("clean: %+v, want every frame shown and identical", clean)
			}
			lossy := measure(t, codec, "5%")
			if lossy.ShownPSNR < 99 {
				t.Errorf("lossy: shown frames PSNR %.2f: a shown frame must decode exactly", lossy.ShownPSNR)
			}
			if lossy.PSNR > clean.PSNR || lossy.SSIM > clean.SSIM {
				t.Errorf("lossy PSNR %.2f SSIM %.4f above clean %.2f %.4f", lossy.PSNR, lossy.SSIM, clean.PSNR, clean.SSIM)
			}
			if lossy.Shown < lossy.Frames && lossy.PSNR >= clean.PSNR {
				t.Errorf("lossy: %d of %d frames not shown, yet PSNR %.2f", lossy.Frames-lossy.Shown, lossy.Frames, lossy.PSNR)
			}
		})
	}
}
