package sfu

import (
	"sort"
	"time"

	"github.com/rtclab/rtclab/seqnum"
)

// munger rewrites the sequence numbers and timestamps of one subscriber's
// copy of a track, so that switching between simulcast layers (each its
// own RTP stream with its own random sequence and timestamp bases, RFC
// 3550 section 5.1) looks like one continuous stream to the subscriber.
//
// The first layer passes through unchanged. On a switch, the new layer's
// first packet (a keyframe's first packet) is numbered right after the
// highest number sent so far, and its timestamp advances from the last one
// sent by the wall time that passed, in clock-rate units. Later packets of
// the layer keep their distance from that first packet, so losses and
// retransmissions map one to one. Packets of the layer from before the
// switch point are dropped: the subscriber never saw their numbers.
//
// All bookkeeping is in extended (unwrapped) sequence numbers
// (package seqnum), each input number judged against the highest of its
// layer so far: comparing 16-bit numbers against the switch point, which
// stops moving, put every packet "before" it 32,768 packets later and the
// call went silent (issue #20).
type munger struct {
	clockRate uint32
	started   bool
	// in extends the current layer's sequence numbers.
	in seqnum.Unwrapper
	// offsets maps extended input numbers to extended output ones: from
	// each entry's from on (until the next entry), out = in + offset. A
	// layer switch starts a new list; padding adds an entry after the last
	// packet forwarded, so packets before it keep their numbers.
	offsets  []seqOffset
	tsOffset uint32
	// switchIn is the extended input number the current layer started at.
	switchIn int64
	// lastIn is the highest extended input number forwarded.
	lastIn int64
	// lastOut, lastTS and lastAt describe the highest packet sent;
	// lastOut is extended.
	lastOut int64
	lastTS  uint32
	lastAt  time.Time
}

type seqOffset struct {
	from, offset int64
}

// offsetHistory bounds the offset list by age: an entry whose successor
// starts this many input numbers behind the highest forwarded is dropped,
// and a packet older than the oldest entry is too old to place. A
// retransmission is asked for within a few round trips, thousands of
// packets sooner, and 2^15 is as far back as a 16-bit number can be
// placed at all (RFC 1982).
const offsetHistory = 1 << 15

// switchTo starts a new layer whose first packet has seq and ts and
// arrived at at.
func (m *munger) switchTo(seq uint16, ts uint32, at time.Time) {
	m.in = seqnum.Unwrapper{}
	in := m.in.Unwrap(seq)
	if !m.started {
		m.started = true
		m.offsets = []seqOffset{{from: in, offset: 0}}
		m.tsOffset = 0
		m.switchIn, m.lastIn = in, in-1
		m.lastOut, m.lastTS, m.lastAt = in-1, ts, at
		return
	}
	gap := uint32(1)
	if d := at.Sub(m.lastAt); d > 0 {
		if ticks := uint32(d.Seconds() * float64(m.clockRate)); ticks > gap {
			gap = ticks
		}
	}
	m.offsets = []seqOffset{{from: in, offset: m.lastOut + 1 - in}}
	m.tsOffset = m.lastTS + gap - ts
	m.switchIn, m.lastIn = in, in-1
}

// rewrite maps one packet of the current layer; ok is false for a packet
// from before the switch point or too old to place.
func (m *munger) rewrite(seq uint16, ts uint32, at time.Time) (outSeq uint16, outTS uint32, ok bool) {
	if !m.started {
		return 0, 0, false
	}
	in := m.in.Unwrap(seq)
	if in < m.switchIn || in < m.offsets[0].from {
		return 0, 0, false
	}
	// the last entry that starts at or before in
	i := sort.Search(len(m.offsets), func(i int) bool { return m.offsets[i].from > in }) - 1
	out := in + m.offsets[i].offset
	outTS = ts + m.tsOffset
	m.lastIn = max(m.lastIn, in)
	if out > m.lastOut {
		m.lastOut, m.lastTS, m.lastAt = out, outTS, at
	}
	m.prune()
	return uint16(out), outTS, true
}

// pad allocates the number of a padding packet sent after the highest
// packet so far (RFC 3550 section 5.1: padding-only packets take sequence
// numbers like any other), moving later input packets up by one. ok is
// false before the first layer.
func (m *munger) pad() (seq uint16, ts uint32, ok bool) {
	if !m.started {
		return 0, 0, false
	}
	m.lastOut++
	last := &m.offsets[len(m.offsets)-1]
	if last.from == m.lastIn+1 {
		last.offset++ // a run of padding packets needs one entry
	} else {
		m.offsets = append(m.offsets, seqOffset{from: m.lastIn + 1, offset: last.offset + 1})
	}
	return uint16(m.lastOut), m.lastTS, true
}

// prune forgets offset entries older than offsetHistory.
func (m *munger) prune() {
	n := 0
	for n+1 < len(m.offsets) && m.offsets[n+1].from < m.lastIn-offsetHistory {
		n++
	}
	if n > 0 {
		m.offsets = append(m.offsets[:0], m.offsets[n:]...)
	}
}
