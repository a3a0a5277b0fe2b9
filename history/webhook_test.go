package history

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/probes/pathprobe"
)

// TestWebhookSurvivesRestart: the webhook's receiver is down when a
// result completes; serve stops (Ctrl-C) with the event tried and
// queued; it starts again on the same history and the receiver comes
// back: the event is delivered exactly once, with its id, and a further
// restart sends nothing. On SQLite and PostgreSQL.
func TestWebhookSurvivesRestart(t *testing.T) {
	leakcheck.Check(t)
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			_ = ln.Close() // the receiver is down: connections are refused
			hookURL := "http://" + addr + "/hook"

			store := b.open(t, len(migrations()))
			path := store.path
			cfg := WebhookConfig{URL: hookURL, Store: store, Backoff: 20 * time.Millisecond, Attempts: 1000}
			wh, err := NewWebhook(cfg)
			if err != nil {
				t.Fatal(err)
			}
			e := newAPIEnv(t, APIConfig{Store: store, Webhook: wh})
			tok := e.invite("ACME", 1, "1h")
			code, _, body := e.do("POST", "/api/v1/results", body(t, result(diagnose.Good, "", pathprobe.Host, false)), InviteHeader+": "+tok)
			var created resultCreated
			if code != http.StatusCreated || json.Unmarshal(body, &created) != nil {
				t.Fatalf("post: %d %s", code, body)
			}
			// Wait for a few refused attempts, then stop as Ctrl-C does.
			for attempts(t, store, created.ID) < 3 {
				time.Sleep(10 * time.Millisecond)
			}
			stop, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			wh.Close(stop)
			cancel()
			left := attempts(t, store, created.ID)
			t.Logf("stopped with the event queued after %d attempts", left)
			if left < 3 {
				t.Fatalf("the queued event lost its retry state: %d attempts", left)
			}
			e.srv.Close()
			_ = store.Close()

			// The receiver comes back on the same address.
			var mu sync.Mutex
			var got []string
			ln, err = net.Listen("tcp4", addr)
			if err != nil {
				t.Fatal(err)
			}
			recv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var ev WebhookEvent
				_ = json.NewDecoder(r.Body).Decode(&ev)
				mu.Lock()
				got = append(got, ev.ID+" "+r.Header.Get(DeliveryHeader))
				mu.Unlock()
			})}
			go func() { _ = recv.Serve(ln) }()
			defer recv.Close()

			// serve starts again on the same history, twice.
			for restart := range 2 {
				s2, err := Open(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Store = s2
				wh2, err := NewWebhook(cfg)
				if err != nil {
					t.Fatal(err)
				}
				for deadline := time.Now().Add(10 * time.Second); ; {
					if n, err := s2.QueuedEvents(ctx); err == nil && n == 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("restart %d: the event is still queued", restart)
					}
					time.Sleep(10 * time.Millisecond)
				}
				wh2.Close(ctx)
				_ = s2.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0] != created.ID+" "+created.ID {
				t.Fatalf("delivered %q, want %s once", got, created.ID)
			}
		})
	}
}

// attempts is how many times the event id was tried, as stored.
func attempts(t *testing.T, s *Store, id string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(context.Background(), s.bind(`SELECT attempts FROM webhook_queue WHERE id = ?`), id).Scan(&n); err != nil {
		t.Fatalf("queued event %s: %v", id, err)
	}
	return n
}

// TestWebhookBackoff: the waits between tries double from Backoff up to
// MaxBackoff.
func TestWebhookBackoff(t *testing.T) {
	h := &Webhook{cfg: WebhookConfig{Backoff: time.Second, MaxBackoff: 10 * time.Minute}}
	var got []time.Duration
	for n := 1; n <= 12; n++ {
		got = append(got, h.backoff(n))
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("backoffs %v, want %v s", got, want)
		}
	}
}
