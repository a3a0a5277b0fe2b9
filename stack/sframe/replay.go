package sframe

// windowSize is how far behind the highest CTR accepted a frame may
// arrive and still be taken (RFC 9605 section 9.3 leaves the size to the
// application). One sender's audio and video share a CTR sequence, at
// about 140 frames a second for 50 audio and 3 simulcast video layers at
// 30 fps: 1024 counters are about 7 s, far longer than any receiver
// waits for a late frame.
const windowSize = 1024

// window is a sliding replay window over CTR values, as SRTP's (RFC 3711
// section 3.3.2): the highest CTR accepted and a bitmap of the
// windowSize CTRs at and below it.
type window struct {
	started bool
	top     uint64
	seen    [windowSize / 64]uint64
}

func (w *window) bit(ctr uint64) (word int, mask uint64) {
	i := ctr % windowSize
	return int(i / 64), 1 << (i % 64)
}

// fresh reports whether ctr would be accepted: above the top, or within
// the window and not seen.
func (w *window) fresh(ctr uint64) bool {
	if !w.started || ctr > w.top {
		return true
	}
	if w.top-ctr >= windowSize {
		return false
	}
	word, mask := w.bit(ctr)
	return w.seen[word]&mask == 0
}

// accept marks ctr seen, sliding the window up when it is the new top.
func (w *window) accept(ctr uint64) {
	if !w.started {
		w.started, w.top = true, ctr
	} else if ctr > w.top {
		if ctr-w.top >= windowSize {
			w.seen = [windowSize / 64]uint64{}
		} else {
			for c := w.top + 1; c < ctr; c++ { // clear the CTRs skipped
				word, mask := w.bit(c)
				w.seen[word] &^= mask
			}
		}
		w.top = ctr
	}
	word, mask := w.bit(ctr)
	w.seen[word] |= mask
}
