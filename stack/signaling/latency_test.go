package signaling_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab/stack/signaling"
)

// With Server.Latency each client gets what the server sends it, and the
// end of its session, after a latency of its own: a message to several
// clients at once (peer-joined) and a crash reach them at instants of
// their own, in the order of their latencies, so in virtual time the
// scheduler no longer picks who acts first. Without it (the case the test
// must see) everything arrives at the instant it was sent.
func TestLatency(t *testing.T) {
	latencies := map[string]time.Duration{"alice": 3 * time.Microsecond, "bob": time.Microsecond, "carol": 2 * time.Microsecond}
	for _, tc := range []struct {
		name    string
		latency func(string) time.Duration
	}{
		{"per client", func(name string) time.Duration { return latencies[name] }},
		{"none", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				want := func(name string) time.Duration {
					if tc.latency == nil {
						return 0
					}
					return latencies[name]
				}
				srv := signaling.NewServer(nil)
				srv.Latency = tc.latency
				hc := serveWith(t, srv)

				// joined: the answer to a join takes the joiner's latency.
				clients := map[string]*signaling.Client{}
				for _, name := range []string{"alice", "bob"} {
					start := time.Now()
					clients[name] = dial(t, hc, "r", name)
					defer clients[name].Close()
					if got := time.Since(start); got != want(name) {
						t.Errorf("%s joined after %v, want %v", name, got, want(name))
					}
				}
				if m := recv(t, clients["alice"]); m.Type != signaling.TypePeerJoined {
					t.Fatalf("alice got %+v", m)
				}

				// peer-joined goes to alice and bob at carol's join; each
				// hears of it after its own latency.
				arrivals := func(what string, read func(*signaling.Client) bool) {
					t.Helper()
					start := time.Now()
					var mu sync.Mutex
					at := map[string]time.Duration{}
					var wg sync.WaitGroup
					for _, name := range []string{"alice", "bob"} {
						wg.Go(func() {
							if read(clients[name]) {
								mu.Lock()
								at[name] = time.Since(start)
								mu.Unlock()
							}
						})
					}
					synctest.Wait() // both readers blocked
					if what == "crash" {
						srv.Crash()
					} else {
						carol := dial(t, hc, "r", "carol")
						defer carol.Close()
					}
					wg.Wait()
					for _, name := range []string{"alice", "bob"} {
						got, ok := at[name]
						if !ok {
							t.Errorf("%s: %s never arrived", what, name)
							continue
						}
						// carol's join itself takes carol's latency to
						// answer, but the others are told at once.
						if got != want(name) {
							t.Errorf("%s reached %s after %v, want %v", what, name, got, want(name))
						}
					}
				}
				arrivals("peer-joined", func(c *signaling.Client) bool {
					m, err := c.Recv(context.Background())
					return err == nil && m.Type == signaling.TypePeerJoined && m.Name == "carol"
				})
				// A crash: each connection ends after its client's latency.
				// (carol's leave may come first).
				arrivals("crash", func(c *signaling.Client) bool {
					for {
						if _, err := c.Recv(context.Background()); err != nil {
							return true
						}
					}
				})
			})
		})
	}
}
