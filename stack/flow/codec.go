package flow

import (
	"math"
	"math/rand/v2"
	"time"
)

// CodecParams configure the statistical video codec (RFC 8593 section
// 4.2: frame sizes follow the target rate with random variation, and a
// rate change is followed by a larger key frame).
type CodecParams struct {
	// FPS is the frame rate; default 25.
	FPS float64
	// MinRate and MaxRate bound the encoder's output in bit/s (RFC 8867
	// section 4.3: 150 kbps and 1.5 Mbps by default).
	MinRate, MaxRate int
	// Noise is the standard deviation of a frame's size relative to
	// target/FPS; default 0.1.
	Noise float64
	// KeyframeFactor is how many mean frames a key frame weighs; default 4.
	KeyframeFactor float64
	// KeyframeChange is the relative change of the target rate, since the
	// last key frame, that makes the encoder emit a new one; default 0.5.
	KeyframeChange float64
	// KeyframeGap is the least time between two key frames caused by rate
	// changes; default 2 s.
	KeyframeGap time.Duration
}

// Defaults of the codec model.
const (
	DefaultFPS     = 25
	DefaultMinRate = 150_000
	DefaultMaxRate = 1_500_000
)

func (p CodecParams) withDefaults() CodecParams {
	if p.FPS <= 0 {
		p.FPS = DefaultFPS
	}
	if p.MinRate <= 0 {
		p.MinRate = DefaultMinRate
	}
	if p.MaxRate <= 0 {
		p.MaxRate = DefaultMaxRate
	}
	if p.MaxRate < p.MinRate {
		p.MaxRate = p.MinRate
	}
	if p.Noise <= 0 {
		p.Noise = 0.1
	}
	if p.KeyframeFactor <= 0 {
		p.KeyframeFactor = 4
	}
	if p.KeyframeChange <= 0 {
		p.KeyframeChange = 0.5
	}
	if p.KeyframeGap <= 0 {
		p.KeyframeGap = 2 * time.Second
	}
	return p
}

// Codec is the statistical encoder model. It is not safe for concurrent
// use: one flow's frame loop owns it.
type Codec struct {
	p       CodecParams
	rng     *rand.Rand
	keyRate float64   // target at the last key frame
	keyAt   time.Time // when the last key frame was made
	wantKey bool
}

// NewCodec returns an encoder whose randomness comes from seed.
func NewCodec(p CodecParams, seed uint64) *Codec {
	return &Codec{p: p.withDefaults(), rng: rand.New(rand.NewPCG(seed, 0x8593)), wantKey: true}
}

// Params returns the codec's parameters with defaults filled in.
func (c *Codec) Params() CodecParams { return c.p }

// Interval is the time between two frames.
func (c *Codec) Interval() time.Duration {
	return time.Duration(float64(time.Second) / c.p.FPS)
}

// Rate clamps a target bitrate to the encoder's range.
func (c *Codec) Rate(target int) int { return min(max(target, c.p.MinRate), c.p.MaxRate) }

// RequestKeyframe makes the next frame a key frame (after a pause, or on
// a receiver's request).
func (c *Codec) RequestKeyframe() { c.wantKey = true }

// Frame returns the size in bytes of the frame encoded at now for the
// target bitrate, and whether it is a key frame. Frames average
// target/FPS with normal noise; a key frame (the first, one requested,
// or one after the target moved by more than KeyframeChange) weighs
// KeyframeFactor frames, a burst above the target as real encoders make
// (RFC 8593 section 4.2).
func (c *Codec) Frame(now time.Time, target int) (size int, key bool) {
	rate := float64(c.Rate(target))
	mean := rate / 8 / c.p.FPS
	if !c.wantKey && c.keyRate > 0 && math.Abs(rate-c.keyRate)/c.keyRate > c.p.KeyframeChange && now.Sub(c.keyAt) >= c.p.KeyframeGap {
		c.wantKey = true
	}
	factor := 1 + c.p.Noise*c.rng.NormFloat64()
	factor = min(max(factor, 0.2), 3)
	if c.wantKey {
		c.wantKey, c.keyRate, c.keyAt = false, rate, now
		return max(int(mean*c.p.KeyframeFactor*factor), 1), true
	}
	return max(int(mean*factor), 1), false
}
