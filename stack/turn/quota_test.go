package turn

import (
	"log/slog"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

func TestQuotaPerIP(t *testing.T) {
	q := newQuotas(Quota{PerIP: 2}, slog.New(slog.DiscardHandler))
	ev := q.events()
	a1 := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 1), Port: 1000}
	a2 := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 1), Port: 1001}
	b := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 2), Port: 1000}
	create := func(a net.Addr) bool {
		if !q.allow("u", "r", a) {
			return false
		}
		ev.OnAllocationCreated(a, nil, "UDP", "u", "r", nil, 0)
		return true
	}
	steps := []struct {
		name string
		do   func() bool
		want bool
	}{
		{"first of 203.0.113.1", func() bool { return create(a1) }, true},
		{"second, other port", func() bool { return create(a2) }, true},
		{"third: quota", func() bool { return create(a1) }, false},
		{"another address", func() bool { return create(b) }, true},
		{"after one is deleted", func() bool {
			ev.OnAllocationDeleted(a1, nil, "UDP", "u", "r")
			return create(a1)
		}, true},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Errorf("%s: allowed %v, want %v", s.name, got, s.want)
		}
	}
	for _, a := range []net.Addr{a1, a2, b} {
		ev.OnAllocationDeleted(a, nil, "UDP", "u", "r")
	}
	if len(q.held) != 0 {
		t.Errorf("held %v after every allocation was deleted", q.held)
	}
}

// TestQuotaRate checks that the rate limit is wired (the bucket itself is
// tested in internal/ratelimit).
func TestQuotaRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQuotas(Quota{RatePerIP: 2, Burst: 4}, slog.New(slog.DiscardHandler))
		a := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 1), Port: 1000}
		count := func() int {
			n := 0
			for range 10 {
				if q.allow("u", "r", a) {
					n++
				}
			}
			return n
		}
		if n := count(); n != 4 {
			t.Errorf("burst: %d of 10 allowed, want 4", n)
		}
		time.Sleep(time.Second)
		if n := count(); n != 2 {
			t.Errorf("1 s later: %d allowed, want 2 (2 per second)", n)
		}
	})
}
