package page_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/diagnose/page"
	"github.com/rtclab/rtclab/history"
)

const adminToken = "page-test-admin-token"

// adminDo makes an admin API request and decodes the JSON answer into v.
func adminDo(t *testing.T, client *http.Client, method, url, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s %s: %s: %v\n%s", method, url, resp.Status, err, data)
		}
	}
	return resp.StatusCode
}

// serveHistory starts serve on loopback with a history in a temporary
// file and the page wired to it, as `rtclab serve --db` does; it returns
// serve's base URL.
func serveHistory(t *testing.T, l *lab) string {
	t.Helper()
	store, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	api, err := history.NewAPI(history.APIConfig{Store: store, AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	cfg := diagnose.ServerConfig{Net: l.ns.Net, IP: "127.0.0.1", Secret: "page", AllowPrivatePeers: true, Mount: api.Register}
	page.Wire(&cfg, store)
	srv, err := diagnose.StartServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv.Info().HTTP
}

// invite creates a one-use invite over the admin API.
func invite(t *testing.T, l *lab, base, label string) (inv struct{ Token, URL string }) {
	t.Helper()
	if code := adminDo(t, l.client, "POST", base+"/api/v1/invites", `{"label":"`+label+`","expires_in":"1h","max_uses":1}`, &inv); code != http.StatusCreated || inv.URL == "" {
		t.Fatalf("invite: %d %+v", code, inv)
	}
	return inv
}

// TestPageClosedHalfWay: a tab closed while the test runs leaves its
// partial result in the history.
func TestPageClosedHalfWay(t *testing.T) {
	l := newLab(t)
	base := serveHistory(t, l)
	inv := invite(t, l, base, "closed-tab")
	actx, acancel := l.browser.Allocator(context.Background())
	defer acancel()
	// The connection to the browser (its first tab) stays; the page runs
	// in a second tab, the one closed.
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(inv.URL)); err != nil {
		t.Fatal(err)
	}
	// Close the tab as soon as the TURN step is stored.
	var recs []history.Record
	deadline := time.Now().Add(30 * time.Second)
	for {
		recs = nil
		adminDo(t, l.client, "GET", base+"/api/v1/results?label=closed-tab", "", &recs)
		if len(recs) == 1 {
			var full history.Record
			adminDo(t, l.client, "GET", base+"/api/v1/results/"+recs[0].ID, "", &full)
			if res, err := full.Result(); err == nil && len(res.TURN) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no partial result with TURN in 30 s: %+v", recs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := chromedp.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	var full history.Record
	adminDo(t, l.client, "GET", base+"/api/v1/results/"+recs[0].ID, "", &full)
	res, err := full.Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after closing the tab: partial %v, %d TURN results, %d paths, skipped %v", res.Partial, len(res.TURN), len(res.Paths), res.Skipped)
	if !full.Partial || !res.Partial || len(res.TURN) == 0 || res.Client == nil || res.Client.Kind != "browser" {
		t.Errorf("the closed tab's result: partial %v/%v, TURN %+v, client %+v", full.Partial, res.Partial, res.TURN, res.Client)
	}
}

// TestPageHistory is the support loop end to end on loopback: an invite
// created over the API, its link opened in headless Chromium, the page
// run to the end, and the result in the history with TURN per transport,
// RTT, upload and download and a verdict; the one-use invite then opens
// only the "expired" page.
func TestPageHistory(t *testing.T) {
	l := newLab(t, "--window-size=1280,1400")
	base := serveHistory(t, l)
	inv := invite(t, l, base, "ticket-4711")
	start := time.Now()
	state := runPage(t, l.browser, inv.URL+"?media=1", func(ctx context.Context) {
		// make screenshots: the finished page, then the console with it.
		if screenshot(t, ctx, "testpage.png") {
			if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Authorization": "Bearer " + adminToken},
			}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console")); err != nil {
				t.Fatal(err)
			}
			screenshot(t, ctx, "testpage-console.png")
			var recs []history.Record
			adminDo(t, l.client, "GET", base+"/api/v1/results?label=ticket-4711", "", &recs)
			if len(recs) == 1 {
				if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console/results/"+recs[0].ID)); err != nil {
					t.Fatal(err)
				}
				screenshot(t, ctx, "testpage-result.png")
			}
		}
	})
	t.Logf("page finished in %s: %s", time.Since(start).Round(time.Millisecond), state)

	var recs []history.Record
	if code := adminDo(t, l.client, "GET", base+"/api/v1/results?label=ticket-4711", "", &recs); code != http.StatusOK || len(recs) != 1 {
		t.Fatalf("history: %d, %d results: %+v", code, len(recs), recs)
	}
	rec := recs[0]
	t.Logf("stored: id %s verdict %s best path %s client %s from %s", rec.ID, rec.Verdict, rec.BestPath, rec.ClientKind, rec.Observed)
	if rec.Partial || rec.Verdict == "" || rec.ClientKind != "browser" || !strings.HasPrefix(rec.Observed, "127.0.0.1") {
		t.Errorf("record %+v", rec)
	}
	var full history.Record
	if code := adminDo(t, l.client, "GET", base+"/api/v1/results/"+rec.ID, "", &full); code != http.StatusOK {
		t.Fatalf("result %s: %d", rec.ID, code)
	}
	res, err := full.Result()
	if err != nil {
		t.Fatal(err)
	}
	checkFinal(t, res)

	// The console shows it with diagnose's renderer.
	req, _ := http.NewRequest("GET", base+"/console/results/"+rec.ID, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := l.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(html), res.Verdict.Summary) {
		t.Errorf("console result: %s, verdict in it %v", resp.Status, strings.Contains(string(html), res.Verdict.Summary))
	}

	// One use: the link now opens the page that says so.
	resp, err = l.client.Get(inv.URL)
	if err != nil {
		t.Fatal(err)
	}
	gone, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(gone), "expired") {
		t.Errorf("used-up invite: %s\n%.300s", resp.Status, gone)
	}
	resp, err = l.client.Get(base + page.Path + "AAAAAAAAAAAAAAAAAAAAAA")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown invite: %s", resp.Status)
	}
}

// screenshotEnv names the folder make screenshots has the page tests
// write their PNGs to; unset, they write none.
const screenshotEnv = "RTCLAB_SCREENSHOT_DIR"

// screenshot writes the tab as it is to name in $RTCLAB_SCREENSHOT_DIR and
// says whether it did.
func screenshot(t *testing.T, ctx context.Context, name string) bool {
	t.Helper()
	dir := os.Getenv(screenshotEnv)
	if dir == "" {
		return false
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", filepath.Join(dir, name))
	return true
}
