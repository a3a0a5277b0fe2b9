package analysis

import (
	"math"
	"time"
)

// E-model (ITU-T G.107 (06/2015)) parameters rtclab uses for an Opus call.
const (
	// emodelR0 is the basic signal-to-noise ratio with every default
	// (G.107 section 7.2) minus the default simultaneous impairment Is:
	// 93.2, the R of a perfect narrowband call.
	emodelR0 = 93.2
	// OpusIe is the equipment impairment of the codec without loss. G.113
	// lists no value for Opus; at the bitrates used here it is at least
	// as good as G.711, whose Ie is 0.
	OpusIe = 0
	// OpusBpl is the packet-loss robustness factor. G.113 Appendix I
	// gives 25.1 for G.711 with packet loss concealment; Opus conceals at
	// least as well, so this errs on the pessimistic side.
	OpusBpl = 25.1
	// CodecDelay is the delay the sender and receiver add besides the
	// network and the jitter buffer: a 20 ms frame plus Opus's 6.5 ms
	// look-ahead.
	CodecDelay = 26500 * time.Microsecond
)

// EModelInput is what the E-model needs of one audio stream.
type EModelInput struct {
	// OneWayDelay is the network part of the mouth-to-ear delay: from the
	// talker's send to the listener's arrival, through both access links
	// and the SFU (measured per stream by a run; RTT/2 when only round
	// trips are known, as in diagnose).
	OneWayDelay time.Duration
	// Jitter is the interarrival jitter; the jitter buffer is assumed to
	// add twice this much delay.
	Jitter time.Duration
	// Loss is the packet loss after repair, 0..1.
	Loss float64
	// BurstR is the burst ratio (G.107 section 7.5): 1 for random loss,
	// above 1 for bursty loss. 0 means 1.
	BurstR float64
}

// EModel is the E-model's result.
type EModel struct {
	// R is the transmission rating factor, 0..100.
	R float64
	// MOS is the estimated mean opinion score (conversational quality),
	// 1..4.5 (G.107 Annex B).
	MOS float64
	// Delay is the absolute delay Ta the rating used.
	Delay time.Duration
	// Id and IeEff are the delay and loss impairments.
	Id, IeEff float64
}

// EstimateMOS rates one audio stream with the E-model (ITU-T G.107):
// R = R0 − Id − Ie,eff, with the delay impairment Id of the absolute delay
// Ta = one-way delay + 2 × jitter + CodecDelay (section 7.4, assuming
// perfect echo cancellation so only Idd counts) and the effective
// equipment impairment Ie,eff = Ie + (95 − Ie) × Ppl / (Ppl/BurstR + Bpl)
// (section 7.5); R is turned into a MOS by Annex B.
func EstimateMOS(in EModelInput) EModel {
	ta := in.OneWayDelay + 2*in.Jitter + CodecDelay
	id := delayImpairment(ta)
	burst := in.BurstR
	if burst <= 0 {
		burst = 1
	}
	ppl := math.Min(math.Max(in.Loss, 0), 1) * 100
	ie := OpusIe + (95-OpusIe)*ppl/(ppl/burst+OpusBpl)
	r := math.Min(math.Max(emodelR0-id-ie, 0), 100)
	return EModel{R: r, MOS: RToMOS(r), Delay: ta, Id: id, IeEff: ie}
}

// delayImpairment is Idd of G.107 section 7.4 (equation 7-28) for an
// absolute delay ta, with the default mT = 100 ms and sT = 1: no
// impairment up to 100 ms, rising steeply after that.
func delayImpairment(ta time.Duration) float64 {
	ms := float64(ta) / float64(time.Millisecond)
	if ms <= 100 {
		return 0
	}
	x := math.Log2(ms / 100)
	return 25 * (math.Pow(1+math.Pow(x, 6), 1.0/6) - 3*math.Pow(1+math.Pow(x/3, 6), 1.0/6) + 2)
}

// RToMOS converts an R factor to a MOS (ITU-T G.107 Annex B, equation
// B-4).
func RToMOS(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
}
