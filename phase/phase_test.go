package phase

import (
	"testing"
	"time"
)

// horizon is the longest scenario a user can write (scenarios' limit on
// duration); no two periodic events may meet within it.
const horizon = time.Hour

// grids are the periods of events not derived here: the 5 ms pacer and
// source grid of the flows, 20 ms audio frames, 40 ms video frames at
// 25 fps, the 100 ms sampler, ICE's 200 ms checks, whole seconds.
var grids = []time.Duration{5 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, time.Second}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// meet is when two timers started together first fire at one instant.
func meet(a, b time.Duration) time.Duration {
	g := gcd(int64(a), int64(b))
	if int64(a)/g > int64(horizon)/int64(b) { // the lcm overflows the horizon
		return horizon + 1
	}
	return time.Duration(int64(a) / g * int64(b))
}

func TestNoTwoCoincide(t *testing.T) {
	all := All()
	seen := map[time.Duration]string{}
	for _, s := range all {
		v := s.Value()
		if v <= s.Base || v >= s.Base+s.Spread || (v-s.Base)%2 == 0 {
			t.Errorf("%s = %v: want Base %v plus an odd number of ns below %v", s.Name, v, s.Base, s.Spread)
		}
		if other, ok := seen[v]; ok {
			t.Errorf("%s and %s are both %v", s.Name, other, v)
		}
		seen[v] = s.Name
		if !s.Periodic {
			continue
		}
		for _, g := range grids {
			if m := meet(v, g); m <= horizon {
				t.Errorf("%s (%v) meets the %v grid after %v, within the %v horizon", s.Name, v, g, m, horizon)
			}
		}
		for _, o := range all {
			if o.Periodic && o.Name < s.Name {
				if m := meet(v, o.Value()); m <= horizon {
					t.Errorf("%s (%v) and %s (%v) meet after %v", s.Name, v, o.Name, o.Value(), m)
				}
			}
		}
	}
	// The case that breaks it: pion's plain 100 ms meets the 20 ms grid.
	if m := meet(100*time.Millisecond, 20*time.Millisecond); m > horizon {
		t.Errorf("meet(100ms, 20ms) = %v; the check cannot see a coincidence", m)
	}
}

func TestLinkSkew(t *testing.T) {
	a, b := LinkSkew("alice/uplink"), LinkSkew("alice/downlink")
	for _, v := range []time.Duration{a, b} {
		if v <= time.Microsecond || v >= 2*time.Microsecond || v%2 == 0 {
			t.Errorf("skew %v: want 1..2 µs, an odd number of ns", v)
		}
	}
	if a == b {
		t.Errorf("two links with one skew %v", a)
	}
}

// TestForClock: the derived values are for virtual time only; a real-time
// stack keeps pion's defaults.
func TestForClock(t *testing.T) {
	for _, s := range All() {
		if got := s.For(false); got != s.Base {
			t.Errorf("%s in real time = %v, want its base %v", s.Name, got, s.Base)
		}
		if got := s.For(true); got != s.Value() {
			t.Errorf("%s in virtual time = %v, want %v", s.Name, got, s.Value())
		}
	}
}
