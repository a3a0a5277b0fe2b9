package netem

import (
	"fmt"
	"time"
)

// Jitter distributions.
const (
	JitterUniform = "uniform" // delay + U(-jitter, +jitter)
	JitterNormal  = "normal"  // delay + N(0, jitter²), truncated at ±3 jitter
	// JitterHalfNormal is RFC 8868 section 4.5.3's recommended PDV:
	// delay + |max(min(N(0, jitter²), 3 jitter), -3 jitter)|, one-sided
	// (section 4.5: most packets near the minimum delay, a few late), so
	// the delay lies in [delay, delay + 3 jitter] with mean about
	// delay + 0.797 jitter.
	JitterHalfNormal = "half-normal"
)

// Impairment is what one direction of an access link does to packets.
// The zero value passes every packet at once.
type Impairment struct {
	// Down drops every packet: the link is cut.
	Down bool
	// Loss is the long-run probability (0..1) that a packet is dropped.
	Loss float64
	// BurstLength, when above 1, makes loss bursty: a Gilbert–Elliott
	// chain per stream whose bad state drops every packet, with mean
	// burst length BurstLength packets and long-run loss Loss. At 0 or 1
	// loss is independent (Bernoulli).
	BurstLength float64
	// Delay is the one-way base delay added to every packet.
	Delay time.Duration
	// Jitter spreads the delay per packet: the half-width of a uniform
	// distribution or the standard deviation of a normal one (JitterDist).
	Jitter time.Duration
	// JitterDist is JitterUniform (default), JitterNormal or
	// JitterHalfNormal.
	JitterDist string
	// Reorder lets jitter reorder packets. When false a packet never
	// leaves before the one sent ahead of it (it waits, like a FIFO link).
	Reorder bool
	// Rate limits the link to this many bits per second; 0 is unlimited.
	Rate int64
	// Trace, when set, replaces Rate with a capacity trace.
	Trace *Trace
	// QueueBytes is the bottleneck buffer of a rate- or trace-limited link
	// in bytes; a packet that does not fit is dropped (drop-tail).
	QueueBytes int
	// QueueDelay sizes the buffer in time at the link rate instead
	// (Rate × QueueDelay). With neither set the buffer holds
	// DefaultQueueDelay.
	QueueDelay time.Duration
	// Duplicate is the probability (0..1) that a packet is delivered twice.
	Duplicate float64
}

// DefaultQueueDelay is the bottleneck buffer of a rate-limited link when
// the scenario sets none: 300 ms at the link rate, the largest queue of the
// RFC 8867 test cases (section 4.2).
const DefaultQueueDelay = 300 * time.Millisecond

// Validate reports the first impossible value.
func (i Impairment) Validate() error {
	switch {
	case i.Loss < 0 || i.Loss > 1:
		return fmt.Errorf("%w: loss %v outside 0..1", ErrConfig, i.Loss)
	case i.BurstLength < 0:
		return fmt.Errorf("%w: burst length %v is negative", ErrConfig, i.BurstLength)
	case i.BurstLength > 1 && i.Loss >= 1:
		return fmt.Errorf("%w: bursty loss needs loss below 100%%", ErrConfig)
	case i.Delay < 0:
		return fmt.Errorf("%w: delay %v is negative", ErrConfig, i.Delay)
	case i.Jitter < 0:
		return fmt.Errorf("%w: jitter %v is negative", ErrConfig, i.Jitter)
	case i.JitterDist != "" && i.JitterDist != JitterUniform && i.JitterDist != JitterNormal && i.JitterDist != JitterHalfNormal:
		return fmt.Errorf("%w: jitter distribution %q (allowed: uniform, normal, half-normal)", ErrConfig, i.JitterDist)
	case i.Rate < 0:
		return fmt.Errorf("%w: rate %v is negative", ErrConfig, i.Rate)
	case i.QueueBytes < 0 || i.QueueDelay < 0:
		return fmt.Errorf("%w: queue size is negative", ErrConfig)
	case i.Duplicate < 0 || i.Duplicate > 1:
		return fmt.Errorf("%w: duplicate %v outside 0..1", ErrConfig, i.Duplicate)
	}
	return nil
}

// limited reports whether the link has a bottleneck.
func (i Impairment) limited() bool { return i.Rate > 0 || i.Trace != nil }

// queueLimit is the bottleneck buffer in bytes.
func (i Impairment) queueLimit() int {
	if i.QueueBytes > 0 {
		return i.QueueBytes
	}
	d := i.QueueDelay
	if d == 0 {
		d = DefaultQueueDelay
	}
	rate := i.Rate
	if i.Trace != nil {
		rate = i.Trace.MeanRate()
	}
	return max(int(float64(rate)*d.Seconds()/8), mtu)
}

// mtu is the size of one delivery opportunity of a capacity trace, and the
// least queue a bottleneck has.
const mtu = 1500
