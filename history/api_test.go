package history

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
)

const testAdmin = "admin-token-for-tests-0123456789"

type apiEnv struct {
	t     *testing.T
	store *Store
	clock *clock
	srv   *httptest.Server
	api   *API
}

func newAPIEnv(t *testing.T, cfg APIConfig) *apiEnv {
	t.Helper()
	c := newClock()
	if cfg.Store == nil {
		cfg.Store = openTest(t, c)
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = testAdmin
	}
	api, err := NewAPI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux) // loopback
	t.Cleanup(srv.Close)
	return &apiEnv{t: t, store: cfg.Store, clock: c, srv: srv, api: api}
}

// do sends one request; headers are "Name: value" strings.
func (e *apiEnv) do(method, path string, body []byte, headers ...string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

const bearer = "Authorization: Bearer " + testAdmin

func (e *apiEnv) invite(label string, uses int, expires string) string {
	e.t.Helper()
	code, _, b := e.do("POST", "/api/v1/invites", []byte(`{"label":"`+label+`","max_uses":`+itoa(uses)+`,"expires_in":"`+expires+`"}`), bearer)
	if code != 201 {
		e.t.Fatalf("invite: %d %s", code, b)
	}
	var r struct {
		Token, URL string
		Uses       int
	}
	_ = json.Unmarshal(b, &r)
	if !strings.HasSuffix(r.URL, "/t/"+r.Token) || !strings.HasPrefix(r.URL, e.srv.URL) || r.Uses != 0 {
		e.t.Fatalf("invite answer %s", b)
	}
	return r.Token
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (e *apiEnv) count() int {
	e.t.Helper()
	recs, err := e.store.List(context.Background(), Filter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(recs)
}

func TestAPIStatusCodes(t *testing.T) {
	leakcheck.Check(t)
	e := newAPIEnv(t, APIConfig{})
	acme := e.invite("ACME", 3, "72h")
	other := e.invite("Other", 1, "1h")
	good := body(t, result(diagnose.Good, nat.PortRestrictedCone, pathprobe.Srflx, false))
	partial := body(t, result("", "", "", true))
	huge := append([]byte(`{"schema":"rtclab.diagnose/v1","partial":true,"target":"`), bytes.Repeat([]byte("x"), 10<<20)...)
	huge = append(huge, `"}`...)

	var acmeID string
	steps := []struct {
		name, method, path string
		body               []byte
		headers            []string
		want               int
		stored             int // results in the store afterwards
		check              func(b []byte, h http.Header)
	}{
		{"invite without the admin token", "POST", "/api/v1/invites", []byte(`{"label":"x"}`), nil, 401, 0, nil},
		{"invite with a wrong token", "POST", "/api/v1/invites", []byte(`{"label":"x"}`), []string{"Authorization: Bearer " + testAdmin + "x"}, 401, 0, nil},
		{"invite with an invite token", "POST", "/api/v1/invites", []byte(`{"label":"x"}`), []string{InviteHeader + ": " + acme}, 401, 0, nil},
		{"invite with an unknown field", "POST", "/api/v1/invites", []byte(`{"label":"x","uses":3}`), []string{bearer}, 400, 0, nil},
		{"invite with a bad expiry", "POST", "/api/v1/invites", []byte(`{"label":"x","expires_in":"soon"}`), []string{bearer}, 400, 0, nil},
		{"invite with max_uses -1", "POST", "/api/v1/invites", []byte(`{"label":"x","max_uses":-1}`), []string{bearer}, 400, 0, nil},
		{"result without credentials", "POST", "/api/v1/results", good, nil, 401, 0, nil},
		{"result with an unknown invite", "POST", "/api/v1/results", good, []string{InviteHeader + ": " + strings.Repeat("B", 32)}, 404, 0, nil},
		{"a 10 MB result", "POST", "/api/v1/results", huge, []string{InviteHeader + ": " + acme}, 413, 0, nil},
		{"malformed JSON", "POST", "/api/v1/results", good[:100], []string{InviteHeader + ": " + acme}, 400, 0, nil},
		{"wrong schema", "POST", "/api/v1/results", []byte(`{"schema":"x","verdict":{"level":"good"}}`), []string{InviteHeader + ": " + acme}, 400, 0, nil},
		{"a partial result from the page", "POST", "/api/v1/results", partial, []string{InviteHeader + ": " + acme, "Origin: https://elsewhere.example"}, 201, 1,
			func(b []byte, h http.Header) {
				var r resultCreated
				_ = json.Unmarshal(b, &r)
				acmeID = r.ID
				if len(r.ID) != 32 || r.URL != "/console/results/"+r.ID || h.Get("Access-Control-Allow-Origin") != "*" {
					t.Errorf("answer %s, CORS %q", b, h.Get("Access-Control-Allow-Origin"))
				}
			}},
		{"preflight", "OPTIONS", "/api/v1/results", nil, []string{"Origin: https://elsewhere.example", "Access-Control-Request-Method: PUT"}, 204, 1,
			func(_ []byte, h http.Header) {
				if !strings.Contains(h.Get("Access-Control-Allow-Headers"), InviteHeader) || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "PUT") {
					t.Errorf("preflight headers %v", h)
				}
			}},
		{"results list without token", "GET", "/api/v1/results", nil, nil, 401, 1, nil},
		{"results list with an invite", "GET", "/api/v1/results", nil, []string{InviteHeader + ": " + acme}, 401, 1, nil},
		{"results list", "GET", "/api/v1/results?label=acme", nil, []string{bearer}, 200, 1,
			func(b []byte, _ http.Header) {
				if !bytes.Contains(b, []byte(`"label": "ACME"`)) {
					t.Errorf("list %s", b)
				}
			}},
		{"results list, bad filter", "GET", "/api/v1/results?verdict=great&since=yesterday", nil, []string{bearer}, 400, 1,
			func(b []byte, _ http.Header) {
				if !bytes.Contains(b, []byte("verdict")) || !bytes.Contains(b, []byte("since")) {
					t.Errorf("error names not both fields: %s", b)
				}
			}},
		{"console without token", "GET", "/console", nil, nil, 401, 1,
			func(b []byte, _ http.Header) {
				if !bytes.Contains(b, []byte(`name="token"`)) || bytes.Contains(b, []byte("ACME")) {
					t.Errorf("console without token shows: %s", b)
				}
			}},
		{"console result without token", "GET", "/console/results/{id}", nil, nil, 401, 1, nil},
		{"other invite replaces ACME's result", "PUT", "/api/v1/results/{id}", good, []string{InviteHeader + ": " + other}, 404, 1, nil},
		{"ACME finishes its result", "PUT", "/api/v1/results/{id}", good, []string{InviteHeader + ": " + acme}, 200, 1, nil},
		{"ACME replaces a final result", "PUT", "/api/v1/results/{id}", good, []string{InviteHeader + ": " + acme}, 409, 1, nil},
		{"result JSON", "GET", "/api/v1/results/{id}", nil, []string{bearer}, 200, 1,
			func(b []byte, _ http.Header) {
				var rec Record
				_ = json.Unmarshal(b, &rec)
				res, _ := rec.Result()
				if rec.Verdict != "good" || rec.Partial || res.Client.ObservedAddress != "127.0.0.1" {
					t.Errorf("record %s", b)
				}
			}},
		{"unknown result", "GET", "/api/v1/results/nope", nil, []string{bearer}, 404, 1, nil},
		{"console result", "GET", "/console/results/{id}", nil, []string{bearer}, 200, 1,
			func(b []byte, _ http.Header) {
				if !bytes.Contains(b, []byte("Network check: http://198.51.100.7:8080")) {
					t.Errorf("console result is not diagnose's report")
				}
			}},
		{"CLI upload with the admin token", "POST", "/api/v1/results?label=lab", good, []string{bearer}, 201, 2, nil},
		{"second use", "POST", "/api/v1/results", good, []string{InviteHeader + ": " + acme}, 201, 3, nil},
		{"third use", "POST", "/api/v1/results", good, []string{InviteHeader + ": " + acme}, 201, 4, nil},
		{"used up", "POST", "/api/v1/results", good, []string{InviteHeader + ": " + acme}, 410, 4, nil},
		{"expired", "POST", "/api/v1/results", good, []string{InviteHeader + ": " + other, "X-Advance: 2h"}, 410, 4,
			func(b []byte, _ http.Header) {
				if !bytes.Contains(b, []byte("expired")) {
					t.Errorf("410 says %s", b)
				}
			}},
		{"csv export", "GET", "/api/v1/results?format=csv&relay_only=no", nil, []string{bearer}, 200, 4,
			func(b []byte, h http.Header) {
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				if h.Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != 5 || lines[0] != strings.Join(CSVHeader, ",") {
					t.Errorf("csv %q", b)
				}
			}},
		{"unknown format", "GET", "/api/v1/results?format=xml", nil, []string{bearer}, 400, 4, nil},
	}
	for _, s := range steps {
		path := strings.ReplaceAll(s.path, "{id}", acmeID)
		var hs []string
		for _, h := range s.headers {
			if d, ok := strings.CutPrefix(h, "X-Advance: "); ok {
				v, _ := time.ParseDuration(d)
				e.clock.add(v)
				continue
			}
			hs = append(hs, h)
		}
		code, h, b := e.do(s.method, path, s.body, hs...)
		if code != s.want {
			t.Errorf("%s: %d, want %d: %.300s", s.name, code, s.want, b)
		}
		if n := e.count(); n != s.stored {
			t.Errorf("%s: %d results stored, want %d", s.name, n, s.stored)
		}
		if s.check != nil {
			s.check(b, h)
		}
	}
}

// TestAPIChunked413 sends 10 MB without a Content-Length: the limit cuts
// the read, not the declared size.
func TestAPIChunked413(t *testing.T) {
	e := newAPIEnv(t, APIConfig{})
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"schema":"rtclab.diagnose/v1","partial":true,"target":"`))
		chunk := bytes.Repeat([]byte("y"), 64<<10)
		for range 160 {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/results", pr)
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_ = pr.Close()
	if resp.StatusCode != 413 || e.count() != 0 {
		t.Fatalf("chunked 10 MB: %d, %d stored", resp.StatusCode, e.count())
	}
}

func TestConsoleLogin(t *testing.T) {
	e := newAPIEnv(t, APIConfig{})
	if _, err := e.store.Add(context.Background(), Post{Label: "Globex <script>", Body: body(t, result(diagnose.Bad, nat.Symmetric, pathprobe.RelayTCP, false))}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path string, form url.Values, origin string) (int, string) {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(path string) (int, string) {
		resp, err := c.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := post("/console/login", url.Values{"token": {"wrong"}}, ""); code != 401 {
		t.Fatalf("wrong login: %d", code)
	}
	if code, _ := get("/console"); code != 401 {
		t.Fatalf("console after a wrong login: %d", code)
	}
	if code, b := post("/console/login", url.Values{"token": {testAdmin}}, ""); code != 200 || !strings.Contains(b, "Globex &lt;script&gt;") {
		t.Fatalf("login: %d %.300s", code, b)
	}
	for _, ck := range jar.Cookies(mustURL(e.srv.URL)) {
		if strings.Contains(ck.Value, testAdmin) {
			t.Fatal("the cookie holds the token")
		}
	}
	cases := []struct {
		path, want string
		code       int
	}{
		{"/console?nat=symmetric&relay_only=yes", "relay-tcp", 200},
		{"/console?verdict=good", "No results match", 200},
		{"/console?since=2026-12-01", "No results match", 200},
		{"/console?until=2026-11-30", "Globex", 200},
		{"/console?verdict=great", "verdict &#34;great&#34;: want one of", 400},
		{"/console?verdict=great", "No results match", 400},
		{"/api/v1/results?format=csv", "Globex <script>", 200},
	}
	for _, cs := range cases {
		code, b := get(cs.path)
		if code != cs.code || !strings.Contains(b, cs.want) {
			t.Errorf("%s: %d, want %d with %q: %.400s", cs.path, code, cs.code, cs.want, b)
		}
	}
	// An invite made in the console shows its link once.
	code, b := post("/console/invites", url.Values{"label": {"Initech"}, "expires_in": {"7d"}, "max_uses": {"2"}}, e.srv.URL)
	if code != 201 || !strings.Contains(b, e.srv.URL+"/t/") {
		t.Fatalf("console invite: %d %.400s", code, b)
	}
	if code, _ := post("/console/invites", url.Values{"label": {"evil"}, "expires_in": {"7d"}, "max_uses": {"2"}}, "https://evil.example"); code != 403 {
		t.Fatalf("cross-origin invite form: %d", code)
	}
	if code, b := post("/console/invites", url.Values{"label": {"x"}, "expires_in": {"100d"}, "max_uses": {"2"}}, ""); code != 400 || !strings.Contains(b, "expires_in") {
		t.Fatalf("bad invite form: %d", code)
	}
	post("/console/logout", nil, "")
	if code, _ := get("/console"); code != 401 {
		t.Fatalf("console after logout: %d", code)
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func TestAPIRateLimit(t *testing.T) {
	e := newAPIEnv(t, APIConfig{PostsPerMinute: 1})
	tok := e.invite("many", 100, "1h")
	good := body(t, result(diagnose.Good, "", pathprobe.Host, false))
	codes := map[int]int{}
	var retry string
	for range postBurst + 2 {
		code, h, _ := e.do("POST", "/api/v1/results", good, InviteHeader+": "+tok)
		codes[code]++
		if code == 429 {
			retry = h.Get("Retry-After")
		}
	}
	if codes[201] != postBurst || codes[429] != 2 || retry == "" || e.count() != postBurst {
		t.Fatalf("codes %v, Retry-After %q, stored %d", codes, retry, e.count())
	}
}

func TestNewAPIConfig(t *testing.T) {
	s := openTest(t, newClock())
	for _, cfg := range []APIConfig{{AdminToken: testAdmin}, {Store: s, AdminToken: "short"}} {
		if _, err := NewAPI(cfg); err == nil {
			t.Errorf("NewAPI(%+v) accepted", cfg)
		}
	}
	if _, err := NewWebhook(WebhookConfig{URL: "http://127.0.0.1:9"}); err == nil {
		t.Errorf("a webhook without a store (its queue) accepted")
	}
	for _, u := range []string{"", "ftp://x", "http://", "not a url"} {
		if _, err := NewWebhook(WebhookConfig{URL: u, Store: s}); err == nil {
			t.Errorf("webhook %q accepted", u)
		}
	}
}

// TestWebhook: the webhook hears of complete results only, once each,
// retries a 500, gives up on a 400, and a hanging receiver never holds the
// request that stored the result.
func TestWebhook(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	var got []WebhookEvent
	calls := 0
	release := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev WebhookEvent
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch {
		case n == 1: // the first event: hang until the test has its answer
			<-release
			w.WriteHeader(500)
			return
		case ev.Label == "refused":
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}))
	defer hook.Close()
	store := openTest(t, newClock())
	wh, err := NewWebhook(WebhookConfig{URL: hook.URL, Store: store, Backoff: 5 * time.Millisecond, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	e := newAPIEnv(t, APIConfig{Store: store, Webhook: wh})
	e.api.SetBase("https://support.example")
	tok := e.invite("ACME", 5, "1h")
	good := body(t, result(diagnose.Good, "", pathprobe.Host, false))
	// A complete result: its POST answers while the webhook hangs.
	code, _, b := e.do("POST", "/api/v1/results", good, InviteHeader+": "+tok)
	if code != 201 {
		t.Fatal(code)
	}
	var first resultCreated
	_ = json.Unmarshal(b, &first)
	close(release)
	// A partial one (no event), then completed by PUT (one event).
	_, _, b = e.do("POST", "/api/v1/results", body(t, result("", "", "", true)), InviteHeader+": "+tok)
	var second resultCreated
	_ = json.Unmarshal(b, &second)
	if code, _, _ := e.do("PUT", "/api/v1/results/"+second.ID, body(t, result("", "", "", true)), InviteHeader+": "+tok); code != 200 {
		t.Fatal(code)
	}
	if code, _, _ := e.do("PUT", "/api/v1/results/"+second.ID, good, InviteHeader+": "+tok); code != 200 {
		t.Fatal(code)
	}
	// The admin's upload labelled "refused" gets a 400: tried once.
	e.do("POST", "/api/v1/results?label=refused", good, bearer)
	wh.Close(context.Background())
	mu.Lock()
	defer mu.Unlock()
	// The first event waits for its retry while the second goes ahead
	// (an event in backoff holds nothing up).
	byID := map[string]WebhookEvent{}
	for _, ev := range got {
		byID[ev.ID] = ev
	}
	if len(got) != 2 || byID[first.ID].Event != "result.complete" || byID[first.ID].Verdict != "good" ||
		byID[second.ID].URL != "https://support.example/console/results/"+second.ID {
		t.Fatalf("events %+v", got)
	}
	if n, err := store.QueuedEvents(context.Background()); n != 0 || err != nil {
		t.Errorf("%d events still queued (%v)", n, err)
	}
	// 1 hang (500) + 1 retry of the first, 1 for the second, 1 for the refused.
	if calls != 4 {
		t.Fatalf("%d calls, want 4", calls)
	}
}

func TestParseFilter(t *testing.T) {
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		query string
		check func(Filter) bool
		errs  []string
	}{
		{"", func(f Filter) bool { return f == Filter{} }, nil},
		{"label=+ACME+&verdict=partial&nat=symmetric", func(f Filter) bool { return f.Label == "ACME" && f.Verdict == "partial" && f.NAT == "symmetric" }, nil},
		{"relay_only=yes", func(f Filter) bool { return f.RelayOnly != nil && *f.RelayOnly }, nil},
		{"relay_only=0", func(f Filter) bool { return f.RelayOnly != nil && !*f.RelayOnly }, nil},
		{"since=2026-11-30&until=2026-11-30", func(f Filter) bool { return f.Since.Equal(day) && f.Until.Equal(day.AddDate(0, 0, 1)) }, nil},
		{"since=2026-11-30T10:00:00Z", func(f Filter) bool { return f.Since.Equal(day.Add(10 * time.Hour)) }, nil},
		{"limit=5", func(f Filter) bool { return f.Limit == 5 }, nil},
		{"verdict=great&nat=cone&relay_only=maybe&since=monday&until=x&limit=0", nil,
			[]string{"verdict", "nat", "relay_only", "since", "until", "limit"}},
		{"limit=10001", nil, []string{"limit \"10001\": want 1 to 10000"}},
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.query)
		f, err := ParseFilter(q)
		if c.errs == nil {
			if err != nil || !c.check(f) {
				t.Errorf("%q: %+v %v", c.query, f, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		for _, e := range c.errs {
			if !strings.Contains(err.Error(), e) {
				t.Errorf("%q: error %q lacks %q", c.query, err, e)
			}
		}
	}
}
