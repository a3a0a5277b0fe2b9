package diagnose

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/rtclab/rtclab/internal/ratelimit"
	"github.com/rtclab/rtclab/stack/testpeer"
)

// newHTTPServer is serve's HTTP server with every read and write bounded:
// 500 connections sending one byte every 5 s were each held 40 s by a
// server with only a header timeout (issue #17). An answer takes up to
// the test peer's 10 s gathering, so writes get that and more.
func newHTTPServer(h http.Handler, read time.Duration) *http.Server {
	if read <= 0 {
		read = DefaultReadTimeout
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(read, 5*time.Second),
		ReadTimeout:       read,
		WriteTimeout:      read + 15*time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// limitPerIP answers 429 Too Many Requests (RFC 6585 section 4) with
// Retry-After to a client IP address past its rate; rate 0 passes all.
func limitPerIP(h http.Handler, rate float64, burst int) http.Handler {
	if rate <= 0 {
		return h
	}
	if burst <= 0 {
		burst = max(1, int(2*rate))
	}
	l := ratelimit.New(rate, burst)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wait, ok := l.Take(remoteIP(r)); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
			http.Error(w, "too many requests from this address", http.StatusTooManyRequests)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func remoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// allowCORS lets a page on another origin use h (the config and offer
// endpoints): it answers the OPTIONS preflight (Fetch standard, CORS
// protocol) itself and marks every other answer readable by any origin.
// Both endpoints are public already; CORS only lets browsers read them.
func allowCORS(h http.Handler, methods string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", methods+", OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, "+testpeer.InviteHeader)
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// admitter binds the test peer's slots to invites: an offer with a valid
// invite header is an invited caller keyed by its invite and address (an
// invite of several uses may run in several places at once), one with an
// invite that is not valid is refused (403), one without is keyed by its
// address. A nil lookup (no history) treats every caller as uninvited.
func admitter(lookup func(ctx context.Context, token string) error) func(*http.Request) (testpeer.Caller, error) {
	return func(r *http.Request) (testpeer.Caller, error) {
		token, ip := r.Header.Get(testpeer.InviteHeader), remoteIP(r).String()
		if token == "" || lookup == nil {
			return testpeer.Caller{Key: "ip:" + ip}, nil
		}
		if err := lookup(r.Context(), token); err != nil {
			return testpeer.Caller{}, fmt.Errorf("%w: %w", testpeer.ErrInvite, err)
		}
		return testpeer.Caller{Key: "invite:" + token + "@" + ip, Invited: true}, nil
	}
}
