package ratelimit

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

func TestPerAddr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(2, 4)
		a := netip.MustParseAddr("203.0.113.1")
		count := func(ip netip.Addr) int {
			n := 0
			for range 10 {
				if l.Allow(ip) {
					n++
				}
			}
			return n
		}
		steps := []struct {
			name  string
			sleep time.Duration
			ip    netip.Addr
			want  int
		}{
			{"burst", 0, a, 4},
			{"1 s later: the rate", time.Second, a, 2},
			{"another address has its own bucket", 0, netip.MustParseAddr("203.0.113.2"), 4},
			{"an hour later: the burst, not more", time.Hour, a, 4},
		}
		for _, s := range steps {
			time.Sleep(s.sleep)
			if got := count(s.ip); got != s.want {
				t.Errorf("%s: %d of 10 allowed, want %d", s.name, got, s.want)
			}
		}
		wait, ok := l.Take(a)
		if ok || wait != 500*time.Millisecond {
			t.Errorf("Take when empty = %v, %v; want 500ms, false (2 per second)", wait, ok)
		}
	})
}

func TestPerAddrZeroRateAllows(t *testing.T) {
	for _, l := range []*PerAddr{nil, New(0, 0)} {
		for range 100 {
			if !l.Allow(netip.MustParseAddr("203.0.113.1")) {
				t.Fatal("refused with no rate")
			}
		}
	}
}

func TestPerAddrForgetsIdleAddresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(10, 10)
		for i := range 3 * maxIdle {
			l.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
			if i%maxIdle == 0 {
				time.Sleep(time.Second) // the earlier buckets refill
			}
		}
		if n := l.Len(); n > maxIdle+1 {
			t.Errorf("%d buckets kept for %d addresses", n, 3*maxIdle)
		}
	})
}
