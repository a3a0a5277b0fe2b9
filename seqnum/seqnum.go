package seqnum

// Extend returns the extended number congruent to v modulo 2^16 that lies
// nearest to ref: within 2^15-1 before it or 2^15 after it (RFC 1982
// section 3.2 leaves a distance of exactly 2^15 undefined; it counts as
// forward here, as in RFC 3550 appendix A.1, where a jump forward is the
// likelier event).
func Extend(ref int64, v uint16) int64 {
	return ref + int64(int16(v-uint16(ref)-1)) + 1
}

// ExtendTimestamp is Extend for 32-bit RTP timestamps.
func ExtendTimestamp(ref int64, v uint32) int64 {
	return ref + int64(int32(v-uint32(ref)-1)) + 1
}

// Unwrapper extends the 16-bit sequence numbers of one RTP stream, each
// judged against the highest number seen so far. The zero value is ready:
// the first number is extended to itself (0 ... 65535).
type Unwrapper struct {
	started bool
	highest int64
}

// Unwrap returns seq's extended number and moves the reference forward
// when seq is the highest so far. A late packet (a reordered or
// retransmitted one) gets a number below the highest and leaves the
// reference where it is.
func (u *Unwrapper) Unwrap(seq uint16) int64 {
	if !u.started {
		u.started, u.highest = true, int64(seq)
		return u.highest
	}
	e := Extend(u.highest, seq)
	u.highest = max(u.highest, e)
	return e
}

// Peek returns what Unwrap would return for seq without moving the
// reference; before the first number it returns seq itself.
func (u *Unwrapper) Peek(seq uint16) int64 {
	if !u.started {
		return int64(seq)
	}
	return Extend(u.highest, seq)
}

// Highest returns the highest extended number seen, and false before the
// first.
func (u *Unwrapper) Highest() (int64, bool) { return u.highest, u.started }

// TimestampUnwrapper is Unwrapper for 32-bit RTP timestamps. The zero
// value is ready.
type TimestampUnwrapper struct {
	started bool
	highest int64
}

// Unwrap returns ts's extended value and moves the reference forward when
// ts is the latest so far.
func (u *TimestampUnwrapper) Unwrap(ts uint32) int64 {
	if !u.started {
		u.started, u.highest = true, int64(ts)
		return u.highest
	}
	e := ExtendTimestamp(u.highest, ts)
	u.highest = max(u.highest, e)
	return e
}

// Highest returns the latest extended timestamp seen, and false before
// the first.
func (u *TimestampUnwrapper) Highest() (int64, bool) { return u.highest, u.started }
