package sfu

import "time"

// Layer selection parameters.
const (
	// upHeadroom is how much more than a layer's bitrate the budget must
	// be before the selector moves up to it (it moves down as soon as the
	// current layer no longer fits).
	upHeadroom = 1.25
	// upHold is how long a higher layer must keep fitting before the
	// selector moves up: one good estimate is not enough, so an estimate
	// that overshoots for a moment (GCC's does) does not bounce the layer.
	upHold = 2 * time.Second
	// downBackoff is how long after moving down the selector will not
	// move up: the estimate that fell recovers faster than the path, and
	// an early retry congests it again.
	downBackoff = 6 * time.Second
)

// selector picks one subscriber's simulcast layer from its bandwidth
// budget. Layers are indexed from lowest (0) to highest.
type selector struct {
	layer     int // current target, -1 before the first choice
	upSince   time.Time
	upCandidt int
	downAt    time.Time
}

func newSelector() selector { return selector{layer: -1} }

// choose returns the layer to forward: the highest whose bitrate fits in
// budget (bits per second), moving down at once and up only after the
// higher layer has fit with upHeadroom for upHold, and not within
// downBackoff of moving down. A layer with a zero
// bitrate is not being received and is skipped; the lowest layer is the
// floor even when nothing fits, because a frozen picture is worse than a
// congested one.
func (s *selector) choose(budget float64, rates []float64, now time.Time) int {
	best := -1
	for i, r := range rates {
		if r > 0 && r <= budget {
			best = i
		}
	}
	if best < 0 {
		best = lowestLive(rates)
	}
	switch {
	case s.layer < 0 || best <= s.layer || s.layer >= len(rates) || rates[s.layer] == 0:
		// first choice, staying or going down, or the current layer stopped
		if s.layer >= 0 && best < s.layer {
			s.downAt = now
		}
		s.layer = best
		s.upSince = time.Time{}
	case !s.downAt.IsZero() && now.Sub(s.downAt) < downBackoff:
		s.upSince = time.Time{} // too soon after moving down
	default:
		// going up: only with headroom, and only after upHold
		up := s.layer
		for i := s.layer + 1; i <= best; i++ {
			if rates[i] > 0 && rates[i]*upHeadroom <= budget {
				up = i
			}
		}
		if up == s.layer {
			s.upSince = time.Time{}
			break
		}
		if s.upSince.IsZero() || up != s.upCandidt {
			s.upSince, s.upCandidt = now, up
		}
		if now.Sub(s.upSince) >= upHold {
			s.layer = up
			s.upSince = time.Time{}
		}
	}
	return s.layer
}

func lowestLive(rates []float64) int {
	for i, r := range rates {
		if r > 0 {
			return i
		}
	}
	return 0
}
