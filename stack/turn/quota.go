package turn

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	pionturn "github.com/pion/turn/v4"

	"github.com/rtclab/rtclab/internal/ratelimit"
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
	// TCPPerIP is the number of TCP and TLS connections one IP address may
	// hold at once; past it a new one is closed. 0 means no limit.
	TCPPerIP int
	// TCPIdle closes a TCP or TLS connection that sends nothing for this
	// long; 0 means never.
	TCPIdle time.Duration
}

// quotas counts allocations per client IP address (from pion's allocation
// events) and limits their rate per address.
type quotas struct {
	q    Quota
	log  *slog.Logger
	rate *ratelimit.PerAddr

	mu   sync.Mutex
	held map[netip.Addr]int
}

func newQuotas(q Quota, log *slog.Logger) *quotas {
	if q.Burst <= 0 {
		q.Burst = max(1, int(q.RatePerIP))
	}
	return &quotas{q: q, log: log, held: map[netip.Addr]int{}, rate: ratelimit.New(q.RatePerIP, q.Burst)}
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
	held := q.held[ip]
	q.mu.Unlock()
	if q.q.PerIP > 0 && held >= q.q.PerIP {
		q.log.Info("turn: allocation quota reached", "client", src.String(), "user", user, "held", held)
		return false
	}
	if !q.rate.Allow(ip) {
		q.log.Info("turn: allocation rate limit", "client", src.String(), "user", user)
		return false
	}
	return true
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
