package sfu

import "time"

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
type munger struct {
	clockRate uint32
	started   bool
	// offsets maps input sequence numbers to output ones: from each
	// entry's from on (until the next entry), out = in + offset. A layer
	// switch starts a new list; padding adds an entry after the last
	// packet sent, so packets before it keep their numbers.
	offsets  []seqOffset
	tsOffset uint32
	// switchSeq is the input sequence number the current layer started at.
	switchSeq uint16
	// lastIn is the highest input sequence number forwarded.
	lastIn uint16
	// lastSeq, lastTS and lastAt describe the highest packet sent.
	lastSeq uint16
	lastTS  uint32
	lastAt  time.Time
}

type seqOffset struct {
	from, offset uint16
}

// maxOffsets bounds the offset history: entries older than this many
// padding insertions are forgotten (their packets are long repaired).
const maxOffsets = 64

// switchTo starts a new layer whose first packet has seq and ts and
// arrived at at.
func (m *munger) switchTo(seq uint16, ts uint32, at time.Time) {
	if !m.started {
		m.started = true
		m.offsets = []seqOffset{{from: seq, offset: 0}}
		m.tsOffset = 0
		m.switchSeq, m.lastIn = seq, seq-1
		m.lastSeq, m.lastTS, m.lastAt = seq-1, ts, at
		return
	}
	gap := uint32(1)
	if d := at.Sub(m.lastAt); d > 0 {
		if ticks := uint32(d.Seconds() * float64(m.clockRate)); ticks > gap {
			gap = ticks
		}
	}
	m.offsets = []seqOffset{{from: seq, offset: m.lastSeq + 1 - seq}}
	m.tsOffset = m.lastTS + gap - ts
	m.switchSeq, m.lastIn = seq, seq-1
}

// rewrite maps one packet of the current layer; ok is false for a packet
// from before the switch point.
func (m *munger) rewrite(seq uint16, ts uint32, at time.Time) (outSeq uint16, outTS uint32, ok bool) {
	if !m.started || seqBefore(seq, m.switchSeq) {
		return 0, 0, false
	}
	off := m.offsets[0].offset
	for _, o := range m.offsets {
		if !seqBefore(seq, o.from) {
			off = o.offset
		}
	}
	outSeq, outTS = seq+off, ts+m.tsOffset
	if seqBefore(m.lastIn, seq) {
		m.lastIn = seq
	}
	if seqBefore(m.lastSeq, outSeq) {
		m.lastSeq, m.lastTS, m.lastAt = outSeq, outTS, at
	}
	return outSeq, outTS, true
}

// pad allocates the number of a padding packet sent after the highest
// packet so far (RFC 3550 section 5.1: padding-only packets take sequence
// numbers like any other), moving later input packets up by one. ok is
// false before the first layer.
func (m *munger) pad() (seq uint16, ts uint32, ok bool) {
	if !m.started {
		return 0, 0, false
	}
	m.lastSeq++
	last := m.offsets[len(m.offsets)-1]
	m.offsets = append(m.offsets, seqOffset{from: m.lastIn + 1, offset: last.offset + 1})
	if len(m.offsets) > maxOffsets {
		m.offsets = m.offsets[len(m.offsets)-maxOffsets:]
	}
	return m.lastSeq, m.lastTS, true
}

// seqBefore reports whether a comes before b in 16-bit serial number
// arithmetic (RFC 1982).
func seqBefore(a, b uint16) bool {
	return a != b && b-a < 1<<15
}
