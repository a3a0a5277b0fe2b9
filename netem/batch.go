package netem

import (
	"cmp"
	"slices"
	"time"
)

// Packets offered to a link at one virtual instant are taken in an order
// of their own, not in the order their goroutines happened to run: in a
// synctest bubble goroutines woken at one instant run in any order, and on
// a FIFO, jittered or rate-limited link the order decides who waits for
// whom, who finds the buffer full, and which counter a STUN or DTLS packet
// draws its fate from. So a link collects the instant's offers and takes
// them 1 ns later (when every goroutine of the instant has run), sorted by
// what they are; each is then handled as offered at its own instant.

// offer is a packet waiting for its instant to end.
type offer struct {
	at           time.Time
	data         []byte // a UDP datagram, whose identity is decided in order; nil for TCP
	class, index uint64 // a TCP segment's identity
	wire         int
	extra        time.Duration
	deliver      func(time.Duration)
	key          uint64 // sort key: what the packet is
	seq          int    // arrival order, for ties
}

// offerKey orders one instant's datagrams by their kind (RFC 7983 first
// byte; RTP/RTCP payload type; what TURN ChannelData carries), which
// repeats from run to run (SSRCs, sequence numbers and keys do not).
// Datagrams of one kind keep the order they came in: a video frame's
// packets, written by one goroutine, stay in sequence.
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

// enqueue adds an offer to the instant's batch. Called with l.mu held.
func (l *link) enqueue(o offer) {
	o.at = time.Now()
	o.seq = len(l.batch)
	l.batch = append(l.batch, o)
	if !l.flushing {
		l.flushing = true
		time.AfterFunc(time.Nanosecond, l.flush)
	}
}

// flush takes every offer of past instants, in order.
func (l *link) flush() {
	l.mu.Lock()
	now := time.Now()
	var due, rest []offer
	for _, o := range l.batch {
		if o.at.Before(now) {
			due = append(due, o)
		} else {
			rest = append(rest, o)
		}
	}
	l.batch = rest
	l.flushing = len(rest) > 0
	if l.flushing {
		time.AfterFunc(time.Nanosecond, l.flush)
	}
	slices.SortFunc(due, func(a, b offer) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.key, b.key), cmp.Compare(rtcpSize(a.data), rtcpSize(b.data)), cmp.Compare(a.class, b.class),
			cmp.Compare(a.index, b.index), cmp.Compare(a.seq, b.seq))
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
	for len(due) > 0 {
		n := 1
		for n < len(due) && isRTCP(due[0].data) && due[n].at.Equal(due[0].at) && due[n].key == due[0].key && len(due[n].data) == len(due[0].data) {
			n++
		}
		l.pass(due[:n])
		due = due[n:]
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// rtcpSize is an RTCP datagram's size, 0 for anything else: RTCP reports
// of one type are ordered by size, so that alike ones meet.
func rtcpSize(p []byte) int {
	if isRTCP(p) {
		return len(p)
	}
	return 0
}

// isRTCP reports whether a datagram is RTCP (RFC 5761 section 4), alone
// or in TURN ChannelData.
func isRTCP(p []byte) bool {
	if len(p) >= 6 && p[0] >= 64 && p[0] <= 79 {
		p = p[4:]
	}
	return len(p) >= 2 && p[0] >= 128 && p[0] <= 191 && p[1] >= 192 && p[1] <= 223
}
