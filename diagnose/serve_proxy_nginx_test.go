package diagnose_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/history"
	"github.com/rtclab/rtclab/internal/realpeer"
)

// TestServeBehindNginx: serve behind a real reverse proxy (Debian's nginx
// on 127.0.0.2, appending $remote_addr to X-Forwarded-For) sees each
// client's own address, for the address it reports and for the per-address
// limit, and a client cannot choose its address by writing the header;
// without --trusted-proxy the same requests all count as the proxy's.
func TestServeBehindNginx(t *testing.T) {
	bin := realpeer.Binary(t, "nginx")
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			cfg := diagnose.ServerConfig{RequestsPerIP: 0.01, RequestBurst: 3, TURNPort: -1}
			if trusted {
				cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
			}
			srv := startLoopbackServe(t, cfg)
			proxy := startNginx(t, bin, strings.TrimPrefix(srv.Info().HTTP, "http://"))

			// Three requests from 127.0.0.3, the first with a forged header
			// naming 127.0.0.4; then one from 127.0.0.4.
			var seen []string
			var codes []int
			for i, from := range []string{"127.0.0.3", "127.0.0.3", "127.0.0.3", "127.0.0.4"} {
				forged := ""
				if i == 0 {
					forged = "127.0.0.4"
				}
				code, addr := gradeVia(t, proxy, from, forged)
				codes, seen = append(codes, code), append(seen, addr)
			}
			if trusted {
				want := []string{"127.0.0.3", "127.0.0.3", "127.0.0.3", "127.0.0.4"}
				if fmt.Sprint(seen) != fmt.Sprint(want) || fmt.Sprint(codes) != "[200 200 200 200]" {
					t.Errorf("behind a trusted proxy: saw %v (codes %v), want %v, all 200", seen, codes, want)
				}
				// The fourth request from 127.0.0.3 is past its burst of 3;
				// 127.0.0.4 has one left of its own.
				if code, _ := gradeVia(t, proxy, "127.0.0.3", "127.0.0.9"); code != http.StatusTooManyRequests {
					t.Errorf("127.0.0.3's 4th request (forging 127.0.0.9): %d, want 429", code)
				}
				if code, _ := gradeVia(t, proxy, "127.0.0.4", ""); code != http.StatusOK {
					t.Errorf("127.0.0.4's 2nd request: %d, want 200 (its own limit)", code)
				}
			} else {
				// Everyone is the proxy, which takes the one burst of 3.
				if seen[0] != "127.0.0.2" || fmt.Sprint(codes) != "[200 200 200 429]" {
					t.Errorf("untrusted proxy: saw %v (codes %v), want 127.0.0.2 and the 4th refused", seen, codes)
				}
			}
		})
	}
}

// gradeVia posts a minimal result to serve's grade endpoint through the
// proxy, from the loopback address from, with a forged X-Forwarded-For
// when given; it returns the status and the address serve reported.
func gradeVia(t *testing.T, proxy, from, forged string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext,
		DisableKeepAlives: true,
	}}
	body := `{"schema":"rtclab.diagnose/v1","partial":false,"client":{"kind":"browser","observed_address":"203.0.113.1"}}`
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+proxy+diagnose.GradePath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if forged != "" {
		req.Header.Set("X-Forwarded-For", forged)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res diagnose.Result
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatal(err)
		}
	}
	if res.Client == nil {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, res.Client.ObservedAddress
}

// startNginx runs nginx as a reverse proxy to upstream on 127.0.0.2 (its
// own port), connecting from 127.0.0.2; it is stopped by PID.
func startNginx(t *testing.T, bin, upstream string) string {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp4", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s;
    location / {
      proxy_pass http://%[3]s;
      proxy_bind 127.0.0.2;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $http_host;
      # As a proxy that ends TLS would say; this one speaks plain HTTP.
      proxy_set_header X-Forwarded-Proto https;
    }
  }
}
`, dir, addr, upstream)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp4", addr)
		if err == nil {
			_ = c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen on %s: %v\n%s", addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeBehindNginxLinks: behind a trusted proxy the invite links serve
// makes carry the scheme and host the client used (X-Forwarded-Proto and
// -Host), and the console's same-origin check passes for a form posted
// from the public origin; behind an untrusted one, links name serve's own
// address and the same form is refused as cross-origin.
func TestServeBehindNginxLinks(t *testing.T) {
	bin := realpeer.Binary(t, "nginx")
	const admin = "nginx-test-admin-token"
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			store, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			api, err := history.NewAPI(history.APIConfig{Store: store, AdminToken: admin})
			if err != nil {
				t.Fatal(err)
			}
			cfg := diagnose.ServerConfig{TURNPort: -1, Mount: api.Register}
			if trusted {
				cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
			}
			srv := startLoopbackServe(t, cfg)
			proxy := startNginx(t, bin, strings.TrimPrefix(srv.Info().HTTP, "http://"))

			req, _ := http.NewRequest(http.MethodPost, "http://"+proxy+"/api/v1/invites", strings.NewReader(`{"label":"proxied"}`))
			req.Header.Set("Authorization", "Bearer "+admin)
			var inv struct{ URL string }
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = json.NewDecoder(resp.Body).Decode(&inv)
			resp.Body.Close()
			want := "https://" + proxy + "/t/"
			if !trusted {
				want = srv.Info().HTTP + "/t/"
			}
			if !strings.HasPrefix(inv.URL, want) {
				t.Errorf("invite link %q, want it to start with %s", inv.URL, want)
			}

			// The console's invite form, posted with the session cookie
			// from the public origin. The cookie is Secure when the client
			// came over https (the proxy said so).
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			login, _ := http.NewRequest(http.MethodPost, "http://"+proxy+"/console/login", strings.NewReader("token="+admin))
			login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			login.Header.Set("Origin", "https://"+proxy)
			resp, err = client.Do(login)
			if err != nil || resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
				t.Fatalf("login: %v %v", resp, err)
			}
			resp.Body.Close()
			session := resp.Cookies()[0]
			if session.Secure != trusted {
				t.Errorf("session cookie Secure %v behind a trusted=%v proxy that said https", session.Secure, trusted)
			}
			form, _ := http.NewRequest(http.MethodPost, "http://"+proxy+"/console/invites", strings.NewReader("label=form&expires_in=24h&max_uses=1"))
			form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			form.Header.Set("Origin", "https://"+proxy)
			form.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
			resp, err = client.Do(form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if wantCode := map[bool]int{true: http.StatusCreated, false: http.StatusForbidden}[trusted]; resp.StatusCode != wantCode {
				t.Errorf("console form from the public origin: %d, want %d", resp.StatusCode, wantCode)
			}
		})
	}
}
