package turn

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// Quota bounds what one client IP address may take from the server, as
// coturn's user-quota and total-quota do per user. A refused Allocate is
// answered 486 (Allocation Quota Reached, RFC 8656 section 7.2). The zero
// value limits nothing.
type Quota struct {
	// PerIP is the number of allocations one IP address may hold at once;
	// 0 means no limit.
	PerIP int
	// RatePerIP is the number of new allocations per second one IP
	// address may make on average, with bursts of Burst; 0 means no limit.
	RatePerIP float64
	// Burst is the token bucket's size; 0 means max(1, RatePerIP).
	Burst int
}

// quotas counts allocations per client IP address (from pion's allocation
// events) and runs one token bucket per address.
type quotas struct {
	q   Quota
	log *slog.Logger

	mu   sync.Mutex
	held map[netip.Addr]int
	rate map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxIdleBuckets bounds the rate map: past it, full buckets of addresses
// that hold nothing are dropped (they are the same as a new one).
const maxIdleBuckets = 4096

func newQuotas(q Quota, log *slog.Logger) *quotas {
	if q.Burst <= 0 {
		q.Burst = max(1, int(q.RatePerIP))
	}
	return &quotas{q: q, log: log, held: map[netip.Addr]int{}, rate: map[netip.Addr]*bucket{}}
}

func clientIP(a net.Addr) netip.Addr {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// allow is pion's QuotaHandler: it runs for each authenticated Allocate.
// Two Allocates from one address read at the same instant on two sockets
// may both pass at the limit: the count follows the allocation events.
func (q *quotas) allow(user, _ string, src net.Addr) bool {
	ip := clientIP(src)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.q.PerIP > 0 && q.held[ip] >= q.q.PerIP {
		q.log.Info("turn: allocation quota reached", "client", src.String(), "user", user, "held", q.held[ip])
		return false
	}
	if q.q.RatePerIP <= 0 {
		return true
	}
	now := time.Now()
	b := q.rate[ip]
	if b == nil {
		if len(q.rate) >= maxIdleBuckets {
			q.prune(now)
		}
		b = &bucket{tokens: float64(q.q.Burst), at: now}
		q.rate[ip] = b
	}
	b.tokens = min(float64(q.q.Burst), b.tokens+now.Sub(b.at).Seconds()*q.q.RatePerIP)
	b.at = now
	if b.tokens < 1 {
		q.log.Info("turn: allocation rate limit", "client", src.String(), "user", user)
		return false
	}
	b.tokens--
	return true
}

// prune drops the buckets that have refilled; q.mu is held.
func (q *quotas) prune(now time.Time) {
	for ip, b := range q.rate {
		if b.tokens+now.Sub(b.at).Seconds()*q.q.RatePerIP >= float64(q.q.Burst) {
			delete(q.rate, ip)
		}
	}
}

func (q *quotas) events() pionturn.EventHandler {
	return pionturn.EventHandler{
		OnAllocationCreated: func(src, _ net.Addr, _, _, _ string, _ net.Addr, _ int) {
			ip := clientIP(src)
			q.mu.Lock()
			q.held[ip]++
			q.mu.Unlock()
		},
		OnAllocationDeleted: func(src, _ net.Addr, _, _, _ string) {
			ip := clientIP(src)
			q.mu.Lock()
			if q.held[ip] <= 1 {
				delete(q.held, ip)
			} else {
				q.held[ip]--
			}
			q.mu.Unlock()
		},
	}
}

// Held is the number of allocations the client IP address holds.
func (s *Server) Held(ip netip.Addr) int {
	s.quota.mu.Lock()
	defer s.quota.mu.Unlock()
	return s.quota.held[ip]
}
