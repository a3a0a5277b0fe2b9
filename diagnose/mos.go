package diagnose

import (
	"math"
	"time"

	"github.com/rtclab/rtclab/analysis"
)

// AudioScore is the estimated audio quality of a call over a path, from
// the one E-model (ITU-T G.107) that `rtclab run` uses too
// (analysis.EstimateMOS), so a diagnosis and its lab reproduction grade
// the same network the same.
type AudioScore struct {
	// DelayMs is the absolute delay Ta the E-model charged: the one-way
	// network delay (half the measured RTT: a probe sees only round
	// trips), a jitter buffer of twice the jitter, and the codec's frame
	// and look-ahead (analysis.CodecDelay).
	DelayMs float64 `json:"delay_ms"`
	// R is the E-model transmission rating (0-100).
	R float64 `json:"r"`
	// MOS is the estimated mean opinion score (1-4.5).
	MOS float64 `json:"mos"`
	// Level is MOS's band.
	Level Level `json:"level"`
}

// ScoreAudio grades audio from RTT and jitter (ms) and loss (%), with
// random loss (BurstR 1).
func ScoreAudio(rttMs, jitterMs, lossPct float64) AudioScore {
	e := analysis.EstimateMOS(analysis.EModelInput{
		OneWayDelay: time.Duration(math.Max(rttMs, 0) / 2 * float64(time.Millisecond)),
		Jitter:      time.Duration(math.Max(jitterMs, 0) * float64(time.Millisecond)),
		Loss:        lossPct / 100,
	})
	t, _ := threshold(MetricMOS)
	return AudioScore{DelayMs: round2(float64(e.Delay) / float64(time.Millisecond)), R: round2(e.R), MOS: round2(e.MOS), Level: t.Classify(e.MOS)}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
