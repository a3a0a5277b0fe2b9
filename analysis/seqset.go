package analysis

// seqSet is a set of extended RTP sequence numbers (package seqnum). A
// stream's numbers are dense, so the set is a bitmap over the span of
// numbers added so far, grown on either side as needed; a set whose span
// would pass maxSeqSpan numbers (numbers far apart, as in a damaged log)
// keeps them in a map instead. The counts of a conference's report looked
// numbers up in maps some 10 million times (issue #21).
type seqSet struct {
	base int64 // the number of bits[0]'s lowest bit, a multiple of 64
	bits []uint64
	m    map[int64]struct{} // instead of bits, past maxSeqSpan
	n    int
}

// maxSeqSpan bounds a bitmap's span: 2 MiB of bits.
const maxSeqSpan = 1 << 24

// add puts x in the set and reports whether it was not there.
func (s *seqSet) add(x int64) bool {
	if s.m == nil && !s.cover(x) {
		s.m = make(map[int64]struct{}, s.n+1)
		for w, word := range s.bits {
			for b := range 64 {
				if word&(1<<b) != 0 {
					s.m[s.base+int64(64*w+b)] = struct{}{}
				}
			}
		}
		s.bits = nil
	}
	if s.m != nil {
		if _, ok := s.m[x]; ok {
			return false
		}
		s.m[x] = struct{}{}
		s.n++
		return true
	}
	i := x - s.base
	w, b := i>>6, uint(i&63)
	if s.bits[w]&(1<<b) != 0 {
		return false
	}
	s.bits[w] |= 1 << b
	s.n++
	return true
}

// cover grows the bitmap to take x; false when that would pass
// maxSeqSpan.
func (s *seqSet) cover(x int64) bool {
	lo := x &^ 63 // floor to a multiple of 64, negative numbers too
	if s.bits == nil {
		s.base, s.bits = lo-64*4, make([]uint64, 16)
		return true
	}
	end := s.base + 64*int64(len(s.bits))
	if lo >= s.base && lo < end {
		return true
	}
	newBase, newEnd := min(s.base, lo), max(end, lo+64)
	if newEnd-newBase > maxSeqSpan {
		return false
	}
	// Room on the side it grows, as much again as the span, so that a
	// stream's numbers added in order grow it a logarithmic number of times.
	span := newEnd - newBase
	if lo < s.base {
		newBase = max(newBase-span, newEnd-maxSeqSpan) &^ 63
	} else {
		newEnd = min(newEnd+span, newBase+maxSeqSpan)
	}
	bits := make([]uint64, (newEnd-newBase)/64)
	copy(bits[(s.base-newBase)/64:], s.bits)
	s.base, s.bits = newBase, bits
	return true
}

// has reports whether x is in the set.
func (s *seqSet) has(x int64) bool {
	if s.m != nil {
		_, ok := s.m[x]
		return ok
	}
	i := x - s.base
	if i < 0 || i >= 64*int64(len(s.bits)) {
		return false
	}
	return s.bits[i>>6]&(1<<uint(i&63)) != 0
}

// len is how many numbers the set holds.
func (s *seqSet) len() int { return s.n }
