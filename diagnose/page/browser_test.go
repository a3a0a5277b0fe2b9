package page_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/diagnose/page"
	"github.com/rtclab/rtclab/history"
	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/internal/realpeer/loopns"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
	"github.com/rtclab/rtclab/stack/testpeer"
)

// posts records what the page posts to the results API, decoded strictly
// into diagnose.Result (a field the page invents, or one misspelt, fails)
// and checked by the history's own validation.
type posts struct {
	mu      sync.Mutex
	results []diagnose.Result
	errs    []error
}

func (p *posts) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	res, err := diagnose.DecodeResult(bytes.NewReader(body))
	if err == nil {
		// What the history will store of it, too.
		_, _, err = history.ParseResult(body, r.RemoteAddr)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Header.Get(testpeer.InviteHeader) != "tok" {
		err = fmt.Errorf("%s %s without the invite header", r.Method, r.URL.Path)
	}
	if err != nil {
		p.errs = append(p.errs, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.results = append(p.results, res)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, `{"id":"r1","url":"/console/results/r1"}`)
}

// runPage opens url in Chromium and waits until the page says it is done
// (body data-state done or error), at most 90 s; then runs after, if
// given, in the same tab.
func runPage(t *testing.T, browser realpeer.Chromium, url string, after ...func(ctx context.Context)) string {
	t.Helper()
	actx, acancel := browser.Allocator(context.Background())
	defer acancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	defer tcancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	for {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.state + ' ' + document.getElementById('now').textContent`))
		if err != nil {
			t.Fatalf("page state: %v", err)
		}
		if strings.HasPrefix(state, "done") || strings.HasPrefix(state, "error") {
			for _, f := range after {
				f(ctx)
			}
			return state
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestPageInChromium runs the test page in a real headless Chromium
// against serve on loopback, camera and microphone faked, and checks what
// it posted: partial results, then a final graded one with every part
// measured, each number against a count the other end made. Browser and
// serve run in a loopback-only namespace.
func TestPageInChromium(t *testing.T) {
	l := newLab(t, "--window-size=1000,1600")
	var got posts
	srv := servePage(t, l, diagnose.ServerConfig{Invites: func(context.Context, string) error { return nil }}, &got)
	start := time.Now()
	state := runPage(t, l.browser, srv.Info().HTTP+page.Path+"tok?media=1", checkSummarize(t))
	t.Logf("page finished in %s: %s", time.Since(start).Round(time.Millisecond), state)
	got.mu.Lock()
	defer got.mu.Unlock()
	for _, err := range got.errs {
		t.Errorf("posted: %v", err)
	}
	if len(got.results) < 3 {
		t.Fatalf("%d results posted, want partial ones and a final one", len(got.results))
	}
	if !got.results[0].Partial {
		t.Errorf("the first result posted is not partial")
	}
	res := got.results[len(got.results)-1]
	if res.Partial || !strings.HasPrefix(state, "done") {
		t.Fatalf("the last result is partial or the page did not finish: %s; skipped %v", state, res.Skipped)
	}
	checkFinal(t, res)
}

func checkFinal(t *testing.T, res diagnose.Result) {
	t.Helper()
	t.Logf("verdict %s: %s", res.Verdict.Level, res.Verdict.Summary)
	if res.Verdict.Summary == "" || len(res.Findings) == 0 || len(res.Metrics) == 0 {
		t.Errorf("not graded: verdict %+v, %d findings, %d metrics", res.Verdict, len(res.Findings), len(res.Metrics))
	}
	if res.Client == nil || res.Client.Kind != "browser" || !strings.Contains(res.Client.UserAgent, "Chrome") || res.Client.ObservedAddress != "127.0.0.1" {
		t.Errorf("client %+v", res.Client)
	}
	// TURN: UDP and TCP allocate; TLS with serve's self-signed certificate
	// is not the customer's failure: skipped with the reason.
	byTr := checkTURN(t, res)
	if _, tested := byTr[turnprobe.TLS]; tested || !strings.Contains(strings.Join(res.Skipped, "\n"), "self-signed certificate") {
		t.Errorf("TURN over TLS with a self-signed certificate: tested %v, skipped %q", tested, res.Skipped)
	}
	for _, p := range res.Paths {
		t.Logf("path %s: ok %v %.0f ms %s %s %s", p.Kind, p.OK, p.Ms, p.Local, p.Remote, p.Reason)
	}
	checkEncryption(t, res)
	if res.BestPath == "" || res.Browser == nil || res.Browser.Pair == nil {
		t.Fatalf("best path %q, browser %+v", res.BestPath, res.Browser)
	}
	// RTT, jitter, loss: 3 s of probes every 20 ms, the counts consistent.
	checkPing(t, res)
	checkBandwidth(t, res)
	// Camera and microphone (Chromium's fake devices).
	m := res.Browser.Media
	// remote-inbound-rtp's RTT comes from the test peer's receiver
	// reports: 0 until it read the browser's sender reports (issue #13).
	if m == nil || m.Error != "" || m.Video == nil || m.Video.PacketsSent == 0 || m.Video.Kbps <= 0 || m.Audio == nil || m.Audio.PacketsSent == 0 ||
		m.Video.RTTMs <= 0 || m.Audio.RTTMs <= 0 {
		t.Errorf("media %+v", m)
	} else {
		t.Logf("media: video %.0f kbit/s %s %.0f fps (%s), audio %.0f kbit/s, available %.0f kbit/s, remote loss %.1f %%, RTCP RTT video %.2f ms audio %.2f ms",
			m.Video.Kbps, m.Video.Resolution, m.Video.FramesPerSecond, m.Video.QualityLimitation, m.Audio.Kbps,
			m.AvailableOutgoingKbps, m.Video.RemoteLossPct, m.Video.RTTMs, m.Audio.RTTMs)
	}
	c := res.Browser.Candidates
	t.Logf("candidates: host %v, %d mDNS, srflx %v; local %+v", c.Host, c.MDNS, c.Srflx, res.Local)
	// In the test's namespace there is nothing but loopback to gather or
	// be seen from (the browser shows addresses, not mDNS names, there).
	if c.MDNS != 0 {
		t.Errorf("%d candidates behind mDNS names: their addresses cannot be checked", c.MDNS)
	}
	// (A server-reflexive candidate equal to the host one is dropped, so
	// there may be none.)
	loopns.CheckLoopback(t, "host and server-reflexive candidates", append(append([]string(nil), c.Host...), c.Srflx...))
	var local []string
	for _, a := range res.Local.Addresses {
		local = append(local, a.IP)
	}
	if res.Local.Mapped != "" {
		local = append(local, res.Local.Mapped)
	}
	loopns.CheckLoopback(t, "local addresses", local)
}

// checkTURN checks that TURN allocated over UDP and over TCP and returns
// the results by transport.
func checkTURN(t *testing.T, res diagnose.Result) map[turnprobe.Transport]turnprobe.Result {
	t.Helper()
	byTr := map[turnprobe.Transport]turnprobe.Result{}
	for _, tr := range res.TURN {
		byTr[tr.Transport] = tr
		t.Logf("TURN %s: ok %v in %.0f ms %s", tr.Transport, tr.OK, tr.Ms, tr.Error)
	}
	for _, tr := range []turnprobe.Transport{turnprobe.UDP, turnprobe.TCP} {
		if r := byTr[tr]; !r.OK || r.Ms <= 0 || r.Relayed == "" {
			t.Errorf("TURN over %s: %+v", tr, r)
		}
	}
	return byTr
}

// checkPing checks the data-channel probes: 3 s every 20 ms, the counts
// consistent with each other.
func checkPing(t *testing.T, res diagnose.Result) {
	t.Helper()
	if len(res.Quality) != 1 {
		t.Fatalf("quality %+v", res.Quality)
	}
	p := res.Quality[0].Ping
	pairRTT := 0.0
	if res.Browser.Pair != nil {
		pairRTT = res.Browser.Pair.RTTMs
	}
	t.Logf("ping: %d sent, %d back, RTT %.2f ms (p95 %.2f), jitter %.2f ms, loss %.1f %%; pair RTT %.2f ms",
		p.Sent, p.Received, p.RTTMs, p.RTTP95Ms, p.JitterMs, p.LossPct, pairRTT)
	if p.Sent < 100 || p.Received != len(p.Samples) || p.RTTMs <= 0 ||
		p.LossPct != 100*float64(p.Sent-p.Received)/float64(p.Sent) {
		t.Errorf("ping inconsistent: %+v", p)
	}
}

// checkBandwidth checks upload and download, each counted by its
// receiver, against the sender's own count.
func checkBandwidth(t *testing.T, res diagnose.Result) {
	t.Helper()
	bw := res.Bandwidth
	if bw == nil {
		t.Fatal("no bandwidth")
	}
	t.Logf("upload %.1f Mbit/s (%d of %d bytes sent), download %.1f Mbit/s (%d of %d bytes sent)",
		bw.Up.Mbps, bw.Up.Bytes, res.Browser.UpSentBytes, bw.Down.Mbps, bw.Down.Bytes, res.Browser.DownSentBytes)
	if bw.Up.Bytes <= 0 || bw.Up.Bytes > res.Browser.UpSentBytes || float64(bw.Up.Bytes) < 0.8*float64(res.Browser.UpSentBytes) {
		t.Errorf("the test peer received %d bytes of the %d the browser sent", bw.Up.Bytes, res.Browser.UpSentBytes)
	}
	if bw.Down.Bytes <= 0 || bw.Down.Bytes != res.Browser.DownSentBytes {
		t.Errorf("the browser received %d bytes, the test peer sent %d", bw.Down.Bytes, res.Browser.DownSentBytes)
	}
}

// servePage starts serve on loopback with the page and a recording
// results API mounted.
func servePage(t *testing.T, l *lab, cfg diagnose.ServerConfig, got *posts) *diagnose.Server {
	t.Helper()
	cfg.Net, cfg.IP, cfg.Secret, cfg.AllowPrivatePeers = l.ns.Net, "127.0.0.1", "page", true
	cfg.Mount = func(mux *http.ServeMux) {
		mux.Handle(page.Path, page.Handler(func(_ context.Context, token string) error {
			if token != "tok" {
				return page.ErrUnknownInvite
			}
			return nil
		}))
		mux.HandleFunc("POST /api/v1/results", got.handle)
		mux.HandleFunc("PUT /api/v1/results/{id}", got.handle)
	}
	srv, err := diagnose.StartServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// TestPageServerBusy: when connected bare calls hold every slot of the
// test peer, the page waits as the server asks (Retry-After, 10 s), tries
// once more, then says the server was busy — a finding about the server,
// an "incomplete" verdict — and never that calls fail on this network.
func TestPageServerBusy(t *testing.T) {
	l := newLab(t)
	var got posts
	srv := servePage(t, l, diagnose.ServerConfig{MaxPeers: 2}, &got)
	for range 2 {
		pc, offer := loopbackOffer(t, l)
		defer pc.Close()
		answer, err := postOffer(l.client, srv.Info().HTTP, offer)
		if err != nil {
			t.Fatal(err)
		}
		// Connected, the call holds its slot past the page's retry.
		if err := pc.SetRemoteDescription(answer); err != nil {
			t.Fatal(err)
		}
	}
	state := runPage(t, l.browser, srv.Info().HTTP+page.Path+"tok", func(ctx context.Context) {
		screenshot(t, ctx, "testpage-busy.png")
	})
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.results) == 0 {
		t.Fatalf("nothing posted; page %s", state)
	}
	res := got.results[len(got.results)-1]
	t.Logf("page %s; verdict %s: %s", state, res.Verdict.Level, res.Verdict.Summary)
	if res.Verdict.Level != diagnose.Info || !strings.Contains(res.Verdict.Summary, "busy") {
		t.Errorf("verdict %+v, want info: the server was busy", res.Verdict)
	}
	for _, f := range res.Findings {
		if f.Level == diagnose.Bad {
			t.Errorf("a busy server graded the customer's network bad: %s", f.Text)
		}
	}
	if res.DurationMs < 10000 {
		t.Errorf("the page finished in %.0f ms: it did not wait the 10 s the server asked for and try again", res.DurationMs)
	}
	for _, p := range res.Paths {
		if p.Kind != "relay-tls" && !p.ServerBusy {
			t.Errorf("path %s not marked server-busy: %+v", p.Kind, p)
		}
	}
}

// loopbackOffer is a pion client's offer on loopback in l's namespace,
// gathered.
func loopbackOffer(t *testing.T, l *lab) (*webrtc.PeerConnection, webrtc.SessionDescription) {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetNet(l.ns.Net)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.CreateDataChannel("echo", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc, *pc.LocalDescription()
}

func postOffer(client *http.Client, base string, offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	var answer webrtc.SessionDescription
	body, _ := json.Marshal(offer)
	resp, err := client.Post(base+testpeer.OfferPath, "application/json", bytes.NewReader(body))
	if err != nil {
		return answer, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return answer, fmt.Errorf("offer: %s", resp.Status)
	}
	return answer, json.NewDecoder(resp.Body).Decode(&answer)
}

// checkSummarize runs the page's own summarize (what it makes of probe
// round trips) on fixed inputs in the tab and checks it against
// pathprobe's rules: loss = unanswered share, median and 95th percentile
// by nearest rank, RFC 3550 jitter J += (|D| - J)/16 over consecutive
// answered RTTs, rounded to microseconds.
func checkSummarize(t *testing.T) func(ctx context.Context) {
	return func(ctx context.Context) {
		tests := []struct {
			js   string
			want pathprobe.PingResult
		}{
			{`summarize([0, 20, 40, 60], new Map([[0, 10], [1, 12], [3, 11]]), 0)`,
				pathprobe.PingResult{Sent: 4, Received: 3, LossPct: 25, RTTMs: 11, RTTP95Ms: 12, JitterMs: 0.18,
					Samples: []pathprobe.Sample{{AtMs: 0, RTTMs: 10}, {AtMs: 20, RTTMs: 12}, {AtMs: 60, RTTMs: 11}}}},
			{`summarize([5, 25], new Map(), 5)`,
				pathprobe.PingResult{Sent: 2, LossPct: 100, Samples: nil}},
			{`summarize([], new Map(), 0)`, pathprobe.PingResult{}},
		}
		for _, tt := range tests {
			got, err := chromedp.Run(ctx, chromedp.Evaluate[pathprobe.PingResult](tt.js))
			if err != nil {
				t.Fatalf("%s: %v", tt.js, err)
			}
			if len(got.Samples) == 0 {
				got.Samples = nil
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("%s = %+v, want %+v", tt.js, got, tt.want)
			}
		}
	}
}

// checkEncryption: the graded result says, per path the browser
// connected, that the test peer terminated DTLS and, on relay paths, that
// the TURN URL the path was given carried end-to-end encrypted media; the
// host path has no relay. The certificate Chromium verified
// (getStats) is the one the answer named.
func checkEncryption(t *testing.T, res diagnose.Result) {
	t.Helper()
	turnURLs := map[string]bool{}
	for _, tr := range res.TURN {
		turnURLs[tr.URL] = true
	}
	relays := 0
	for _, p := range res.Paths {
		if !p.OK {
			continue
		}
		if p.DTLSFingerprint == "" || p.DTLSFingerprint != p.PeerFingerprint {
			t.Errorf("%s: verified certificate %q, the answer's %q", p.Kind, p.DTLSFingerprint, p.PeerFingerprint)
		}
		var got []string
		for _, e := range res.Encryption {
			if e.Path != p.Kind {
				continue
			}
			got = append(got, e.Role+" "+e.Media)
			if e.Role == diagnose.RoleRelay && !turnURLs[e.Server] {
				t.Errorf("%s: relay %q is none of the TURN URLs", p.Kind, e.Server)
			}
		}
		want := []string{"endpoint terminated"}
		if p.Kind.IsRelay() {
			relays++
			want = []string{"relay end-to-end", "endpoint terminated"}
		}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("%s (local %s): %v, want %v", p.Kind, p.Local, got, want)
		}
	}
	if relays == 0 {
		t.Errorf("no relay path connected: %+v", res.Paths)
	}
}
