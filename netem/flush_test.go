package netem

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestDeferredFlushKeepsInstants: a link takes its offers at flushAt, up
// to its delay after they were offered, yet each one comes out when it
// did with a flush 1 ns after the offer, its stats count it as soon as
// the instant it was offered has passed, and a change of impairment at
// the instant of an offer still applies to it, however much sooner the
// new delay lets it out.
func TestDeferredFlushKeepsInstants(t *testing.T) {
	for _, tc := range []struct {
		name      string
		imp       Impairment
		set       *Impairment // set at the instant of the second offer
		setAfter  bool        // after the offer rather than before
		wantDelay [2]time.Duration
	}{
		{"no delay", Impairment{}, nil, false, [2]time.Duration{0, 0}},
		{"delay", Impairment{Delay: 40 * time.Millisecond}, nil, false, [2]time.Duration{40 * time.Millisecond, 40 * time.Millisecond}},
		{"delay and jitter", Impairment{Delay: 40 * time.Millisecond, Jitter: 10 * time.Millisecond, JitterDist: JitterNormal}, nil, false, [2]time.Duration{-1, -1}},
		{"delay and half-normal jitter", Impairment{Delay: 40 * time.Millisecond, Jitter: 10 * time.Millisecond, JitterDist: JitterHalfNormal}, nil, false, [2]time.Duration{-1, -1}},
		{"shorter delay set, then an offer", Impairment{Delay: 100 * time.Millisecond, Reorder: true}, &Impairment{Delay: 5 * time.Millisecond, Reorder: true}, false, [2]time.Duration{100 * time.Millisecond, 5 * time.Millisecond}},
		{"an offer, then a shorter delay set", Impairment{Delay: 100 * time.Millisecond, Reorder: true}, &Impairment{Delay: 5 * time.Millisecond, Reorder: true}, true, [2]time.Duration{100 * time.Millisecond, 5 * time.Millisecond}},
		{"longer delay set", Impairment{Delay: 5 * time.Millisecond}, &Impairment{Delay: 100 * time.Millisecond}, false, [2]time.Duration{5 * time.Millisecond, 100 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLink(1, "h", Uplink, tc.imp, newBufPool())
				defer l.close()
				var sent, out [2]time.Time
				offer := func(i int) {
					sent[i] = time.Now()
					l.sendSegment(classTCP, uint64(i), 100, 0, func(time.Duration) { out[i] = time.Now() })
				}
				offer(0)
				time.Sleep(time.Millisecond)
				if tc.set != nil && !tc.setAfter {
					l.set(*tc.set)
				}
				offer(1)
				if tc.set != nil && tc.setAfter {
					l.set(*tc.set)
				}
				time.Sleep(time.Microsecond)
				if got := l.snapshot().Packets; got != 2 {
					t.Fatalf("1 µs after the second offer the link counts %d packets, want 2", got)
				}
				time.Sleep(time.Second)
				for i := range out {
					d := out[i].Sub(sent[i]) - l.skew
					if out[i].IsZero() {
						t.Fatalf("packet %d never came out", i)
					}
					want := tc.wantDelay[i]
					if want < 0 { // jittered: within the link's bounds
						if d < 10*time.Millisecond || d > 70*time.Millisecond {
							t.Errorf("packet %d came out after %v", i, d)
						}
						continue
					}
					if d != want {
						t.Errorf("packet %d came out after %v, want %v", i, d, want)
					}
				}
			})
		})
	}
}

// TestBurstComesOutNanosecondApart: a burst offered at one instant comes
// out in order, 1 ns a packet after the first (the link's goroutine
// sleeps through the burst, link.run), on links with and without delay,
// also when another offer lands mid-burst; a link closed mid-burst
// delivers nothing more.
func TestBurstComesOutNanosecondApart(t *testing.T) {
	for _, imp := range []Impairment{{}, {Delay: 10 * time.Millisecond}} {
		synctest.Test(t, func(t *testing.T) {
			l := newLink(1, "h", Downlink, imp, newBufPool())
			var out []time.Time
			var order []int
			offer := func(i int) {
				l.sendSegment(classTCP, uint64(i), 100, 0, func(time.Duration) { out = append(out, time.Now()); order = append(order, i) })
			}
			for i := range 10 {
				offer(i)
			}
			time.Sleep(imp.Delay + l.skew + 3*time.Nanosecond)
			offer(10) // while the burst comes out
			time.Sleep(time.Second)
			if len(out) != 11 {
				t.Fatalf("%v: %d of 11 packets came out", imp, len(out))
			}
			for i := 1; i < 10; i++ {
				if d := out[i].Sub(out[i-1]); d != time.Nanosecond || order[i] != i {
					t.Errorf("%v: packet %d came out %v after the one before (order %v)", imp, order[i], d, order)
				}
			}
			// Closed mid-burst: nothing more comes out.
			out = out[:0]
			for i := range 10 {
				offer(20 + i)
			}
			time.Sleep(imp.Delay + l.skew + 2*time.Nanosecond) // the first is out
			n := len(out)
			l.close()
			time.Sleep(time.Second)
			if len(out) != n || n == 0 || n >= 10 {
				t.Errorf("%v: %d packets came out by the close, %d after", imp, n, len(out)-n)
			}
		})
	}
}
