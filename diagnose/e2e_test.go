package diagnose_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/probes/pathprobe"
)

// TestServeAndDiagnoseLoopback runs serve on 127.0.0.1 + 127.0.0.2 and the
// whole diagnosis against it, in process.
func TestServeAndDiagnoseLoopback(t *testing.T) {
	leakcheck.Check(t)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := diagnose.StartServer(diagnose.ServerConfig{
		Net: n, IP: "127.0.0.1", AltIP: "127.0.0.2", Secret: "test-secret", AllowPrivatePeers: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + srv.Describe())
	info, err := diagnose.FetchServer(context.Background(), nil, srv.Info().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := diagnose.NewPlan(diagnose.Inputs{
		Target: srv.Info().HTTP, STUN: info.STUN, TURN: info.TURN,
		Username: info.Username, Password: info.Password, Peer: info.HTTP,
	})
	if err != nil {
		t.Fatal(err)
	}
	answers := &answerRecorder{next: &http.Transport{}}
	client := &http.Client{Transport: answers}
	start := time.Now()
	res, err := diagnose.Run(context.Background(), plan, diagnose.Options{
		TLSConfig: &tls.Config{RootCAs: info.CertPool()}, IncludeLoopback: true, HTTPClient: client,
		LocalIPs: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := diagnose.WriteText(&out, res); err != nil {
		t.Fatal(err)
	}
	t.Logf("diagnosis took %s\n%s", elapsed.Round(time.Millisecond), out.String())
	if res.NAT == nil || res.NAT.Type != "open-internet" {
		t.Errorf("NAT %+v, want open internet", res.NAT)
	}
	for _, tr := range res.TURN {
		if !tr.OK {
			t.Errorf("TURN %s failed: %s", tr.URL, tr.Error)
		}
	}
	for _, p := range res.Paths {
		if !p.OK && p.Kind != pathprobe.Srflx {
			t.Errorf("path %s failed: %s", p.Kind, p.Reason)
		}
	}
	if res.BestPath != pathprobe.Host || res.Bandwidth == nil || res.Audio == nil || res.Video == nil {
		t.Errorf("best %q bandwidth %v audio %v video %v", res.BestPath, res.Bandwidth, res.Audio, res.Video)
	}
	if len(res.Quality) != 2 {
		t.Errorf("quality over %d paths, want best and relay", len(res.Quality))
	}
	checkEncryption(t, res, answers.fingerprints())
	client.CloseIdleConnections()
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
}

// answerRecorder is an HTTP transport that keeps the a=fingerprint lines
// of every answer the test peer returned: what the test peer said its
// certificate was, read apart from the diagnosis.
type answerRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	fps  []string
}

var fingerprintLine = regexp.MustCompile(`a=fingerprint:sha-256 ([0-9A-Fa-f:]+)`)

func (a *answerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/offer") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range fingerprintLine.FindAllStringSubmatch(string(body), -1) {
		a.fps = append(a.fps, "sha-256 "+strings.ToUpper(m[1]))
	}
	return resp, err
}

func (a *answerRecorder) fingerprints() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.fps)
}

// checkEncryption checks the per-server statement against the run: the
// host path has no relay and ends at the test peer; each relay path has
// its TURN server carrying end-to-end encrypted media; the certificate
// verified on every path is one an answer of the test peer named.
func checkEncryption(t *testing.T, res diagnose.Result, answered []string) {
	t.Helper()
	if len(answered) == 0 {
		t.Fatal("no answer fingerprint recorded")
	}
	entries := map[pathprobe.Kind][]diagnose.Encryption{}
	for _, e := range res.Encryption {
		entries[e.Path] = append(entries[e.Path], e)
	}
	relays := 0
	for _, p := range res.Paths {
		if !p.OK {
			if len(entries[p.Kind]) != 0 {
				t.Errorf("%s did not connect but has %+v", p.Kind, entries[p.Kind])
			}
			continue
		}
		if !slices.Contains(answered, p.DTLSFingerprint) {
			t.Errorf("%s: verified certificate %q is in none of the test peer's answers %q", p.Kind, p.DTLSFingerprint, answered)
		}
		var roles []string
		for _, e := range entries[p.Kind] {
			roles = append(roles, e.Role+" "+e.Media)
			switch e.Role {
			case diagnose.RoleRelay:
				if !p.Kind.IsRelay() || e.Media != diagnose.MediaEndToEnd || !strings.HasPrefix(e.Server, "turn") {
					t.Errorf("%s: relay entry %+v", p.Kind, e)
				}
			case diagnose.RoleEndpoint:
				if e.Server != diagnose.TestPeer || e.Media != diagnose.MediaTerminated || !strings.Contains(p.Remote, e.Address) {
					t.Errorf("%s: endpoint entry %+v (remote %s)", p.Kind, e, p.Remote)
				}
			}
		}
		want := []string{"endpoint terminated"}
		if p.Kind.IsRelay() {
			relays++
			want = []string{"relay end-to-end", "endpoint terminated"}
		}
		if !slices.Equal(roles, want) {
			t.Errorf("%s (local %s): %v, want %v", p.Kind, p.Local, roles, want)
		}
	}
	if relays == 0 || len(entries[pathprobe.Host]) != 1 {
		t.Errorf("want a relay path and the host path measured: %+v", res.Encryption)
	}
}
