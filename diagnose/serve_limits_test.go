package diagnose_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/stack/testpeer"
)

func startLoopbackServe(t *testing.T, cfg diagnose.ServerConfig) *diagnose.Server {
	t.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Net, cfg.IP, cfg.Secret = n, "127.0.0.1", "s"
	cfg.TLSPort = -1 // TURN on a free port over UDP and TCP
	srv, err := diagnose.StartServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// trickle opens conns connections that send head and then one byte of
// pad every 50 ms, at most n bytes, and returns how many bytes each had
// sent when the server closed it.
func trickle(t *testing.T, addr, head string, conns, n int) []int {
	t.Helper()
	sent := make([]int, conns)
	var wg sync.WaitGroup
	for i := range conns {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if _, err := io.WriteString(c, head); err != nil {
				return
			}
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				_ = c.SetReadDeadline(time.Now().Add(time.Minute)) // a broken server must not hang the test
				_, _ = io.Copy(io.Discard, c)
			}()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for sent[i] < n {
				select {
				case <-closed:
					return
				case <-tick.C:
				}
				if _, err := c.Write([]byte{'a'}); err != nil {
					return
				}
				sent[i]++
			}
			<-closed
		}()
	}
	wg.Wait()
	return sent
}

// TestServeCutsSlowClients: connections sending one byte at a time, in
// the headers or in the body, are closed after the read timeout; a server
// with only a header timeout held slow bodies for as long as they came
// (500 connections at one byte per 5 s were held 40 s, issue #17).
func TestServeCutsSlowClients(t *testing.T) {
	leakcheck.Check(t)
	srv := startLoopbackServe(t, diagnose.ServerConfig{ReadTimeout: 300 * time.Millisecond})
	addr := strings.TrimPrefix(srv.Info().HTTP, "http://")
	const n = 100 // 5 s of bytes: 16 times the read timeout
	for _, tc := range []struct{ name, head string }{
		{"body", "POST " + testpeer.OfferPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"},
		{"headers", "GET " + diagnose.ConfigPath + " HTTP/1.1\r\nHost: x\r\nX-Slow: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, s := range trickle(t, addr, tc.head, 20, n) {
				if s >= n {
					t.Errorf("connection %d: the server read all %d slow bytes of the %s without closing it", i, n, tc.name)
				}
			}
		})
	}
	// And it still answers.
	resp, err := http.Get(srv.Info().HTTP + diagnose.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("config after the slow clients: %s", resp.Status)
	}
}

// TestServeRateLimitsPerIP: past its burst one address gets 429 with
// Retry-After.
func TestServeRateLimitsPerIP(t *testing.T) {
	leakcheck.Check(t)
	srv := startLoopbackServe(t, diagnose.ServerConfig{RequestsPerIP: 0.5, RequestBurst: 3})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var codes []int
	retry := ""
	for range 4 {
		resp, err := client.Get(srv.Info().HTTP + diagnose.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		retry = resp.Header.Get("Retry-After")
	}
	want := []int{200, 200, 200, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("statuses %v, want %v", codes, want)
		}
	}
	if retry != "2" {
		t.Errorf("Retry-After %q, want 2 (0.5 requests per second)", retry)
	}
}
