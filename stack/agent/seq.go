package agent

import "github.com/rtclab/rtclab/seqnum"

// SeqCounts is what a receiver's application saw of one RTP stream.
type SeqCounts struct {
	// Expected is the number of sequence numbers from the first to the
	// highest seen (RFC 3550 appendix A.3).
	Expected uint64
	// Unique is the number of distinct sequence numbers received.
	Unique uint64
	// Duplicates counts packets whose sequence number was already seen.
	Duplicates uint64
	// Bytes is the payload bytes of the unique packets.
	Bytes uint64
}

// Lost is Expected - Unique: packets never received, even by repair.
func (c SeqCounts) Lost() uint64 {
	if c.Unique > c.Expected {
		return 0
	}
	return c.Expected - c.Unique
}

// LossFraction is Lost / Expected, 0 when nothing was expected.
func (c SeqCounts) LossFraction() float64 {
	if c.Expected == 0 {
		return 0
	}
	return float64(c.Lost()) / float64(c.Expected)
}

// seqHistory is how far back (in sequence numbers) duplicates are detected.
const seqHistory = 1 << 15

// seqCounter counts unique RTP sequence numbers, extended beyond 16 bits
// against the highest seen (RFC 3550 appendix A.1, package seqnum), and
// remembers the last seqHistory numbers to tell a late retransmission
// from a duplicate.
type seqCounter struct {
	started bool
	first   int64
	highest int64
	ext     seqnum.Unwrapper
	seen    [seqHistory / 64]uint64
	c       SeqCounts
}

func (s *seqCounter) add(raw uint16, payload int) {
	ext := s.ext.Unwrap(raw)
	if !s.started {
		s.started = true
		s.first, s.highest = ext, ext
		s.mark(ext)
		s.c.Unique, s.c.Bytes = 1, uint64(payload)
		return
	}
	if ext > s.highest {
		for n := s.highest + 1; n <= ext && n-s.highest <= seqHistory; n++ {
			s.clear(n)
		}
		s.highest = ext
	} else if s.highest-ext >= seqHistory || ext < s.first {
		s.c.Duplicates++ // too old to tell: count it as a duplicate
		return
	}
	if s.isSet(ext) {
		s.c.Duplicates++
		return
	}
	s.mark(ext)
	s.c.Unique++
	s.c.Bytes += uint64(payload)
}

func (s *seqCounter) counts() SeqCounts {
	c := s.c
	if s.started {
		c.Expected = uint64(s.highest - s.first + 1)
	}
	return c
}

func (s *seqCounter) bit(n int64) (int, uint64) {
	i := n & (seqHistory - 1)
	return int(i / 64), 1 << (i % 64)
}
func (s *seqCounter) mark(n int64)       { w, b := s.bit(n); s.seen[w] |= b }
func (s *seqCounter) clear(n int64)      { w, b := s.bit(n); s.seen[w] &^= b }
func (s *seqCounter) isSet(n int64) bool { w, b := s.bit(n); return s.seen[w]&b != 0 }
