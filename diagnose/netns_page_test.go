package diagnose_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/bubble"
	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/diagnose/page"
	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/reproduce"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
)

// resultsFileEnv names the file the serve-page helper writes the last
// result the page posted to.
const resultsFileEnv = "RTCLAB_NS_RESULTS"

// helperServePage runs serve with the browser test page (invite "tok")
// and a results API that writes each result the page posts, decoded
// strictly, to the file in resultsFileEnv.
func helperServePage() int {
	file := os.Getenv(resultsFileEnv)
	store := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		res, err := diagnose.DecodeResult(bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var out bytes.Buffer
		if err := diagnose.WriteJSON(&out, res); err != nil || os.WriteFile(file+".tmp", out.Bytes(), 0o600) != nil || os.Rename(file+".tmp", file) != nil {
			http.Error(w, "cannot store", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"ns","url":"/console/results/ns"}`)
	}
	return helperServeWith(func(mux *http.ServeMux) {
		mux.Handle(page.Path, page.Handler(func(_ context.Context, token string) error {
			if token != "tok" {
				return page.ErrUnknownInvite
			}
			return nil
		}))
		mux.HandleFunc("POST /api/v1/results", store)
		mux.HandleFunc("PUT /api/v1/results/{id}", store)
	})
}

// TestNetnsPageUDPBlocked opens the test page in Chromium inside the
// client namespace, behind the router's NAT that drops UDP: the page must
// report TURN over UDP timing out and the call relayed over TURN/TCP (TLS
// is skipped: serve's certificate is self-signed); rtclab reproduce of that
// result relays over TURN/TCP in the lab too.
func TestNetnsPageUDPBlocked(t *testing.T) {
	l := newLab(t)
	realpeer.Binary(t, "chromium")
	l.nft(udpBlocked)
	file := filepath.Join(t.TempDir(), "result.json")
	l.startServerMode("serve-page", resultsFileEnv+"="+file)
	start := time.Now()
	url := "http://" + net.JoinHostPort(nsServerIP, "8080") + page.Path + "tok"
	browser := realpeer.StartChromium(t, []string{"ip", "netns", "exec", l.client}, url)
	t.Logf("%s in %s opened %s", browser, l.client, url)
	var res diagnose.Result
	deadline := time.Now().Add(90 * time.Second)
	for {
		data, err := os.ReadFile(file)
		if err == nil {
			res, err = diagnose.DecodeResult(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("the page posted: %v", err)
			}
			if !res.Partial {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no final result in 90 s; last: partial %v, skipped %v", res.Partial, res.Skipped)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("page finished in %s: %s: %s", time.Since(start).Round(time.Millisecond), res.Verdict.Level, res.Verdict.Summary)
	for _, tr := range res.TURN {
		t.Logf("TURN %s: ok %v %.0f ms %s %s", tr.Transport, tr.OK, tr.Ms, tr.Failure, tr.Error)
		switch tr.Transport {
		case turnprobe.UDP:
			if tr.OK || tr.Failure != turnprobe.FailTimeout {
				t.Errorf("TURN over UDP through a UDP drop: ok %v, failure %q; want a timeout", tr.OK, tr.Failure)
			}
		case turnprobe.TCP:
			if !tr.OK {
				t.Errorf("TURN over TCP failed: %s", tr.Error)
			}
		}
	}
	for _, p := range res.Paths {
		t.Logf("path %s: ok %v %s %s %s", p.Kind, p.OK, p.Local, p.Remote, p.Reason)
	}
	if res.BestPath != pathprobe.RelayTCP {
		t.Errorf("best path %q, want relay-tcp", res.BestPath)
	}
	if res.Browser == nil || res.Browser.Pair == nil || res.Browser.Pair.Local != "relay" || res.Browser.Pair.RelayProtocol != "tcp" {
		t.Errorf("selected pair %+v, want a relay over TCP", res.Browser)
	}
	if !hasFinding(res, "UDP to the TURN server is blocked; calls will relay over TCP on 3478") {
		t.Errorf("no 'UDP blocked -> TCP relay' finding: %+v", res.Findings)
	}
	if res.Bandwidth == nil || res.Bandwidth.Up.Bytes == 0 || res.Bandwidth.Down.Bytes == 0 {
		t.Errorf("bandwidth over the TCP relay: %+v", res.Bandwidth)
	}
	if !strings.Contains(strings.Join(res.Skipped, "\n"), "self-signed") {
		t.Errorf("TLS not skipped with its reason: %v", res.Skipped)
	}
	reproduceRelaysOverTCP(t, res)
}

// reproduceRelaysOverTCP puts what the browser measured in the lab
// (rtclab reproduce) and runs it for 6 s of virtual time: the customer
// relays over TURN/TCP there too.
func reproduceRelaysOverTCP(t *testing.T, res diagnose.Result) {
	t.Helper()
	y := reproduce.Scenario(res, reproduce.Source{From: "the browser's result"})
	s, err := scenarios.Parse("repro.yaml", y)
	if err != nil {
		t.Fatalf("reproduce: %v\n%s", err, y)
	}
	s.Duration.Duration = 6 * time.Second
	var rep *reports.Report
	bubble.Run(t, func() {
		rep, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual})
	})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range rep.Participants {
		if p.Name != "customer" {
			continue
		}
		found = true
		if !p.Connected || p.SelectedPair == nil || p.SelectedPair.Local != "relay" || p.SelectedPair.RelayProtocol != "tcp" {
			t.Errorf("reproduced: customer connected %v, pair %+v; want a relay over TCP, as in the browser\n%s", p.Connected, p.SelectedPair, y)
		}
	}
	if !found {
		t.Errorf("the reproduced scenario has no participant named customer:\n%s", y)
	}
}
