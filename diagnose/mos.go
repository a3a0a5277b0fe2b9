package diagnose

import (
	"math"

	"github.com/rtclab/rtclab/analysis"
)

// The E-model (ITU-T G.107) reduced, as is usual for network monitoring, to
// the two impairments a network causes, following Cole and Rosenbluth,
// "Voice over IP performance monitoring", ACM SIGCOMM CCR 31(2), 2001:
//
//	R   = 93.2 - Id - Ie,eff
//	Id  = 0.024·d + 0.11·(d - 177.3)·H(d - 177.3)        (d: one-way delay, ms)
//	Ie,eff = Ie + (95 - Ie)·Ppl / (Ppl/BurstR + Bpl)      (G.107 eq. 7-29)
//	MOS = 1 + 0.035·R + R·(R - 60)·(100 - R)·7·10⁻⁶       (G.107 Annex B, B-4)
//
// with the codec values of G.711 with packet loss concealment from ITU-T
// G.113 Appendix I (Ie = 0, Bpl = 25.1) and random loss (BurstR = 1). The
// one-way delay is estimated from what the probe measures: half the RTT,
// plus a jitter buffer of twice the jitter, plus 20 ms of packetisation.
const (
	eModelR0     = 93.2
	g711Ie       = 0.0
	g711Bpl      = 25.1
	packetMs     = 20.0
	jitterFactor = 2.0
)

// OneWayDelay estimates the mouth-to-ear delay (ms) from a round-trip time
// and jitter (ms).
func OneWayDelay(rttMs, jitterMs float64) float64 {
	return rttMs/2 + jitterFactor*jitterMs + packetMs
}

// RFactor is the E-model transmission rating for a one-way delay (ms) and
// a packet loss (%).
func RFactor(delayMs, lossPct float64) float64 {
	d := math.Max(delayMs, 0)
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	ppl := math.Min(math.Max(lossPct, 0), 100)
	ie := g711Ie + (95-g711Ie)*ppl/(ppl/1+g711Bpl)
	return eModelR0 - id - ie
}

// MOS converts an R factor to a mean opinion score (G.107 Annex B).
func MOS(r float64) float64 { return analysis.RToMOS(r) }

// AudioScore is the estimated audio quality of a call over a path.
type AudioScore struct {
	// DelayMs is the estimated one-way mouth-to-ear delay.
	DelayMs float64 `json:"delay_ms"`
	// R is the E-model transmission rating (0-100).
	R float64 `json:"r"`
	// MOS is the estimated mean opinion score (1-4.5).
	MOS float64 `json:"mos"`
	// Level is MOS's band.
	Level Level `json:"level"`
}

// ScoreAudio grades audio from RTT, jitter and loss.
func ScoreAudio(rttMs, jitterMs, lossPct float64) AudioScore {
	d := OneWayDelay(rttMs, jitterMs)
	r := RFactor(d, lossPct)
	mos := MOS(r)
	t, _ := threshold(MetricMOS)
	return AudioScore{DelayMs: round2(d), R: round2(r), MOS: round2(mos), Level: t.Classify(mos)}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
