package analysis

import (
	"math"
	"slices"
	"time"

	"github.com/rtclab/rtclab/seqnum"
)

// Packet is one RTP packet as a sender put it on the wire or a receiver
// got it: the plain record every stream metric is computed from.
type Packet struct {
	// Seq is the RTP sequence number of the media stream (for a
	// retransmission, the original sequence number it repairs, RFC 4588
	// section 4).
	Seq uint16
	// Timestamp is the RTP timestamp.
	Timestamp uint32
	// At is when the packet left (send log) or arrived (arrival log).
	At time.Time
	// Size is the RTP payload in bytes (no header, no padding).
	Size int
	// RTX marks a retransmission (RFC 4588), sent on its own SSRC.
	RTX bool
	// Padding marks a packet that carries only padding (a bandwidth
	// probe), not media.
	Padding bool
}

// Sent summarises a send log (the packets one sender put on the wire on
// one media SSRC and its RTX SSRC, in send order).
type Sent struct {
	// Media counts original media packets and MediaBytes their payload.
	Media, MediaBytes int
	// Padding counts padding-only packets; RTX retransmissions.
	Padding, RTX int
}

// CountSent counts a send log.
func CountSent(log []Packet) Sent {
	var s Sent
	for _, p := range log {
		switch {
		case p.RTX:
			s.RTX++
		case p.Padding:
			s.Padding++
		default:
			s.Media++
			s.MediaBytes += p.Size
		}
	}
	return s
}

// Reception is the whole-call count of one received stream against what
// its last sender put on the wire.
type Reception struct {
	// Expected is the media packets the stream should have delivered: every
	// sequence number from the first on the wire (or received) to the
	// highest on the wire (or received) by the end of the call, minus the
	// numbers padding took. A gap upstream (lost before an SFU) counts too.
	Expected int
	// Received is the distinct media packets received, originals or
	// retransmissions; Bytes their payload.
	Received int
	Bytes    int
	// Lost is Expected − Received: never received, even by repair, by the
	// end of the call.
	Lost int
	// Repaired counts media packets received only as a retransmission: the
	// original never arrived (one that arrives after its retransmission is
	// late, not repaired).
	Repaired int
	// Duplicates counts media packets received more than once.
	Duplicates int
	// Late counts media packets that arrived after a higher sequence number
	// (reordered) as originals: late, not lost.
	Late int
	// Padding counts padding-only packets received.
	Padding int
	// RTX counts retransmissions received (duplicates included).
	RTX int
	// LossRuns counts runs of consecutive lost packets (each is one
	// concealment event for audio); LongestRun is the longest run.
	LossRuns, LongestRun int
}

// LossFraction is Lost / Expected; NaN when nothing was expected.
func (r Reception) LossFraction() float64 {
	if r.Expected == 0 {
		return math.NaN()
	}
	return float64(r.Lost) / float64(r.Expected)
}

// Receive counts the arrival log of one stream (in arrival order) against
// the last sender's send log (empty when unknown: then the span is the
// received one, blind to a loss at the start or the end).
func Receive(arrivals, sent []Packet) Reception {
	var out Reception
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	var padding seqSet
	var u seqnum.Unwrapper
	for _, p := range originals(sent) {
		ext := u.Unwrap(p.Seq)
		if p.Padding {
			padding.add(ext)
			continue
		}
		first, last = min(first, ext), max(last, ext)
	}
	u = unwrapperAt(sent)
	var seen seqSet
	var original seqSet // an original (not a retransmission) arrived
	highestOriginal := int64(math.MinInt64)
	for _, p := range arrivals {
		ext := u.Unwrap(p.Seq)
		if p.RTX {
			out.RTX++
		}
		// The send log says what a number carried: a retransmitted probe
		// does not look like one when it arrives.
		if p.Padding || padding.has(ext) {
			out.Padding++
			padding.add(ext)
			continue
		}
		first, last = min(first, ext), max(last, ext)
		if !p.RTX && original.add(ext) {
			if ext < highestOriginal {
				out.Late++
			}
			highestOriginal = max(highestOriginal, ext)
		}
		if !seen.add(ext) {
			out.Duplicates++
			continue
		}
		out.Received++
		out.Bytes += p.Size
	}
	// Repaired: received, but never as the original. An original held up
	// upstream (an SFU that got it late, over RTX, from its publisher) can
	// arrive after its own retransmission: it did arrive as an original,
	// late, and the retransmission is the duplicate.
	// Every original that arrived was seen.
	out.Repaired = seen.len() - original.len()
	if last < first {
		return out
	}
	run := 0
	for s := first; s <= last; s++ {
		switch {
		case padding.has(s):
			continue
		case seen.has(s):
			run = 0
			out.Expected++
			continue
		}
		out.Expected++
		out.Lost++
		if run == 0 {
			out.LossRuns++
		}
		run++
		out.LongestRun = max(out.LongestRun, run)
	}
	return out
}

// Jitter is the RFC 3550 interarrival jitter (section 6.4.1, computed as
// appendix A.8 does) of the original media packets of an arrival log, in
// arrival order: J += (|D(i−1,i)| − J) / 16, where D is the difference of
// the transit times (arrival time − RTP timestamp) of consecutive packets.
// Retransmissions and padding are left out: their timestamps are not
// their send times. clockRate is the RTP clock rate in Hz. Returns the
// final value; 0 with fewer than two packets.
func Jitter(arrivals []Packet, clockRate uint32) time.Duration {
	if clockRate == 0 {
		return 0
	}
	var j float64 // in timestamp units
	var prev float64
	n := 0
	var t0 time.Time
	for _, p := range arrivals {
		if p.RTX || p.Padding {
			continue
		}
		if n == 0 {
			t0 = p.At
		}
		// transit in timestamp units; the unknown offset cancels in D
		transit := p.At.Sub(t0).Seconds()*float64(clockRate) - float64(int32(p.Timestamp-arrivals[0].Timestamp))
		if n > 0 {
			d := math.Abs(transit - prev)
			j += (d - j) / 16
		}
		prev = transit
		n++
	}
	if n < 2 {
		return 0
	}
	return time.Duration(j / float64(clockRate) * float64(time.Second))
}

// FrameInterval estimates a video sender's frame interval from what
// arrived: the median step between consecutive frames' RTP timestamps
// (in arrival order, RTX and padding apart, each new timestamp against
// the one before it; a step back, a reordered frame, is skipped). For a
// sender whose clip rtclab does not know (a browser's camera), so that
// its first gaps are judged as a pion sender's are. The median holds
// while fewer than half the frames are lost; 0 with fewer than two
// frames.
func FrameInterval(arrivals []Packet, clockRate uint32) time.Duration {
	if clockRate == 0 {
		return 0
	}
	var steps []uint32
	var prev uint32
	have := false
	for _, p := range arrivals {
		if p.RTX || p.Padding {
			continue
		}
		if have && p.Timestamp != prev {
			if d := p.Timestamp - prev; d < 1<<31 {
				steps = append(steps, d)
			}
		}
		if !have || int32(p.Timestamp-prev) > 0 {
			prev, have = p.Timestamp, true
		}
	}
	if len(steps) == 0 {
		return 0
	}
	slices.Sort(steps)
	return time.Duration(float64(steps[len(steps)/2]) / float64(clockRate) * float64(time.Second))
}

// OneWayDelay is the mean time from the publisher's first packet of each
// RTP timestamp (in its send log) to the arrival of the receiver's first
// original packet of it: the network part of the mouth-to-ear delay (both
// access links, the SFU and every queue on the way), measured on one
// clock. False when no packet matched.
func OneWayDelay(arrivals, published []Packet) (time.Duration, bool) {
	sent := map[uint32]time.Time{}
	for _, p := range published {
		if _, ok := sent[p.Timestamp]; !ok && !p.RTX && !p.Padding {
			sent[p.Timestamp] = p.At
		}
	}
	var sum time.Duration
	n := 0
	done := map[uint32]bool{}
	for _, p := range arrivals {
		if p.RTX || p.Padding || done[p.Timestamp] {
			continue
		}
		at, ok := sent[p.Timestamp]
		if !ok {
			continue
		}
		done[p.Timestamp] = true
		sum += p.At.Sub(at)
		n++
	}
	if n == 0 {
		return 0, false
	}
	return sum / time.Duration(n), true
}

// originals returns the packets of a log that are not retransmissions.
func originals(log []Packet) []Packet {
	out := make([]Packet, 0, len(log))
	for _, p := range log {
		if !p.RTX {
			out = append(out, p)
		}
	}
	return out
}

// unwrapperAt returns an Unwrapper that extends sequence numbers in the
// numbering of a send log (starting from its first original), so that
// arrivals and sends get the same extended numbers.
func unwrapperAt(sent []Packet) seqnum.Unwrapper {
	var u seqnum.Unwrapper
	for _, p := range sent {
		if !p.RTX {
			u.Unwrap(p.Seq)
			break
		}
	}
	return u
}

// LossPerWindow is the loss after repair per window: for each window
// (width, ending at each of ends), the media sequence numbers that belong
// to it — from the first the last sender put on the wire in the window up
// to the first it sent after it, gaps (packets lost upstream) included,
// padding not — that never arrived by the end of the call, over all of
// them; NaN for a window in which nothing was sent. Windows that tile the
// call add up to Receive's Lost and Expected over the send log's span, so
// a plot of it agrees with the table.
func LossPerWindow(arrivals, sent []Packet, ends []time.Time, width time.Duration) []float64 {
	u := unwrapperAt(sent)
	var got seqSet
	for _, p := range arrivals {
		got.add(u.Unwrap(p.Seq)) // padding numbers are never looked up
	}
	type sendRec struct {
		at  time.Time
		ext int64
	}
	u = seqnum.Unwrapper{}
	var padding seqSet
	var originals []sendRec
	for _, p := range sent {
		if p.RTX {
			continue
		}
		ext := u.Unwrap(p.Seq)
		if p.Padding {
			padding.add(ext)
		}
		originals = append(originals, sendRec{p.At, ext})
	}
	out := make([]float64, len(ends))
	for i, end := range ends {
		start := end.Add(-width)
		lo, _ := slices.BinarySearchFunc(originals, start, func(r sendRec, t time.Time) int { return r.at.Compare(t) })
		hi, _ := slices.BinarySearchFunc(originals, end, func(r sendRec, t time.Time) int { return r.at.Compare(t) })
		out[i] = math.NaN()
		if hi <= lo {
			continue
		}
		from, to := originals[lo].ext, originals[hi-1].ext+1
		if hi < len(originals) {
			to = originals[hi].ext
		}
		expected, lost := 0, 0
		for s := from; s < to; s++ {
			if padding.has(s) {
				continue
			}
			expected++
			if !got.has(s) {
				lost++
			}
		}
		if expected > 0 {
			out[i] = float64(lost) / float64(expected)
		}
	}
	return out
}
