package netem

import (
	"cmp"
	"slices"
	"time"
)

// Packets offered to a link at one virtual instant are taken together, 1 ns
// later (when every goroutine of the instant has run) or later still
// (flushAt), in arrival order:
// a link decides each packet's fate from its identity, and RTCP reports
// alike in type and size that arrive together (pion sends the reports of
// all streams from one ticker in sync.Map order, so which comes first
// differs from run to run) cross as one burst, so that none waits for
// another. Sorting the instant's packets by kind as well reordered a
// simulcast call's start (TestSimulcastSwitchesCleanly) and was dropped.

// offer is a packet waiting for its instant to end.
type offer struct {
	at           time.Time
	data         []byte // a UDP datagram, whose identity is decided in order; nil for TCP
	class, index uint64 // a TCP segment's identity
	wire         int
	extra        time.Duration
	out          delivery
	key          uint64 // what the packet is (offerKey)
	seq          int    // arrival order, for ties
}

// offerKey is a datagram's kind (RFC 7983 first byte; RTP/RTCP payload
// type; what TURN ChannelData carries), which repeats from run to run
// (SSRCs, sequence numbers and keys do not): alike RTCP reports share it.
func offerKey(p []byte) uint64 {
	var k uint64
	if len(p) >= 2 {
		k |= uint64(p[0])<<40 | uint64(p[1]&0x7f)<<32
	}
	if len(p) >= 6 && p[0] >= 64 && p[0] <= 79 {
		k |= uint64(p[4])<<24 | uint64(p[5]&0x7f)<<16
	}
	return k
}

// enqueue adds an offer to the batch. Called with l.mu held.
func (l *link) enqueue(o offer) {
	o.at = time.Now()
	o.seq = l.offers
	l.offers++
	l.batch = append(l.batch, o)
	l.armFlush(o.at, o.at)
}

// armFlush has the link's goroutine (run) take the batch at flushAt(at)
// at the latest. Only a change of impairment (set) makes that sooner than
// a pending flush: the timer is otherwise reset once fired (see run).
// Called with l.mu held.
func (l *link) armFlush(at, now time.Time) {
	if when := l.flushAt(at); !l.flushArmed || when.Before(l.flushWhen) {
		l.flushArmed, l.flushWhen = true, when
		l.flushTimer.Reset(when.Sub(now))
	}
}

// flushAt is when the link's goroutine takes the offers of instant at:
// 1 ns later, when every offer of the instant is in, or, on a link that
// delays every packet, as late as the earliest instant one of them can
// come out (the delay and the link's skew, less the most jitter can take
// away). Taken any time in between, the offers meet the same fates and
// come out at the same instants: flush takes them in the order they were
// offered, and nothing outside the link sees them before they come out
// (snapshot and set take what is due first). Waiting that long lets one
// wake-up of the link's goroutine take a whole video frame and deliver
// its first packet, where one per offer and one per delivery cost a
// tenth of a quickstart run's CPU.
func (l *link) flushAt(at time.Time) time.Time {
	imp := l.imp
	early := imp.Delay + l.skew
	if imp.Jitter > 0 {
		switch imp.JitterDist {
		case JitterNormal:
			early -= 3 * imp.Jitter // jitter truncated at 3 standard deviations
		case JitterHalfNormal: // never below the delay
		default:
			early -= imp.Jitter
		}
	}
	return at.Add(max(early, time.Nanosecond))
}

// flushDue takes the offers of instants before now, if any. Called with
// l.mu held.
func (l *link) flushDue(now time.Time) {
	if len(l.batch) > 0 && l.batch[0].at.Before(now) {
		l.flush(now)
	}
}

// flush takes every offer of instants before now, in order. Called by
// run with l.mu held.
func (l *link) flush(now time.Time) {
	// The batch and the two lists are reused from flush to flush.
	due, rest := l.due[:0], l.rest[:0]
	for _, o := range l.batch {
		if o.at.Before(now) {
			due = append(due, o)
		} else {
			rest = append(rest, o)
		}
	}
	clear(l.batch)
	l.batch, l.rest = rest, l.batch[:0]
	// Arrival order, but RTCP reports alike in type and size together.
	slices.SortStableFunc(due, func(a, b offer) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.class, b.class), cmp.Compare(a.index, b.index), cmp.Compare(a.seq, b.seq))
	})
	for i := range due {
		o := &due[i]
		if o.data != nil {
			o.class, o.index = l.fates.identity(o.data)
			if n := l.fates.occurrence(o.class, o.index); n > 0 {
				// A resend of identical bytes: draw afresh (the first
				// offer keeps the plain identity, so fates of other
				// packets do not change).
				o.index ^= n * 0x9E3779B97F4A7C15
			}
		}
	}
	// RTCP packets alike in type and size offered at one instant (the
	// reports of several streams, which pion sends from one ticker in
	// sync.Map order: interceptor pkg/report) are indistinguishable from
	// run to run: they cross the link together, as one burst with one
	// fate, and come out at one instant. (Other packets of one kind and
	// size at one instant, such as a video frame's, come from one
	// goroutine in order.)
	for rest := due; len(rest) > 0; {
		n := 1
		for n < len(rest) && isRTCP(rest[0].data) && rest[n].at.Equal(rest[0].at) && rest[n].key == rest[0].key && len(rest[n].data) == len(rest[0].data) {
			n++
		}
		l.pass(rest[:n])
		rest = rest[n:]
	}
	clear(due)
	l.due = due[:0]
}

// isRTCP reports whether a datagram is RTCP (RFC 5761 section 4), alone
// or in TURN ChannelData.
func isRTCP(p []byte) bool {
	if len(p) >= 6 && p[0] >= 64 && p[0] <= 79 {
		p = p[4:]
	}
	return len(p) >= 2 && p[0] >= 128 && p[0] <= 191 && p[1] >= 192 && p[1] <= 223
}
