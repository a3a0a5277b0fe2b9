package ratelimit

import (
	"net/netip"
	"sync"
	"time"
)

// maxIdle bounds the map: past it, buckets that have refilled are dropped
// (a full bucket is the same as a new one), so addresses that came once
// cost nothing for long.
const maxIdle = 4096

// PerAddr is one token bucket per IP address: each address may take Burst
// at once and Rate per second on average. Time is time.Now, so inside a
// synctest bubble it follows virtual time. Safe for concurrent use.
type PerAddr struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New makes a limiter of rate tokens per second per address, with bursts
// of burst (at least 1). A rate of 0 or less allows everything.
func New(rate float64, burst int) *PerAddr {
	return &PerAddr{rate: rate, burst: float64(max(1, burst)), buckets: map[netip.Addr]*bucket{}}
}

// Allow takes one token for ip and reports whether there was one.
func (l *PerAddr) Allow(ip netip.Addr) bool {
	_, ok := l.Take(ip)
	return ok
}

// Take is Allow that also says, when refused, how long until the next
// token.
func (l *PerAddr) Take(ip netip.Addr) (wait time.Duration, ok bool) {
	if l == nil || l.rate <= 0 {
		return 0, true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= maxIdle {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[ip] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}

// Len is the number of addresses with a bucket kept.
func (l *PerAddr) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// prune drops the buckets that have refilled; l.mu is held.
func (l *PerAddr) prune(now time.Time) {
	for ip, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, ip)
		}
	}
}
