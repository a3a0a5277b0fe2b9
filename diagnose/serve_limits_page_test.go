package diagnose_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/stack/testpeer"
)

// TestServeCORS: a page on another origin may read the config and post
// offers (the preflight was 405, issue #13).
func TestServeCORS(t *testing.T) {
	srv := startLoopbackServe(t, diagnose.ServerConfig{})
	base := srv.Info().HTTP
	for _, tc := range []struct{ path, method string }{
		{diagnose.ConfigPath, "GET"},
		{testpeer.OfferPath, "POST"},
		{diagnose.GradePath, "POST"},
	} {
		req, _ := http.NewRequest(http.MethodOptions, base+tc.path, nil)
		req.Header.Set("Origin", "https://support.example")
		req.Header.Set("Access-Control-Request-Method", tc.method)
		req.Header.Set("Access-Control-Request-Headers", "content-type, x-rtclab-invite")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), tc.method) ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), testpeer.InviteHeader) {
			t.Errorf("OPTIONS %s: %s %v", tc.path, resp.Status, h)
		}
	}
	resp, err := http.Get(base + diagnose.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET config: %s, Access-Control-Allow-Origin %q", resp.Status, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestServeInvitedCallGetsASlot fills every slot bare offers may take and
// checks that an offer with a valid invite still gets a call, one with a
// bad invite is refused 403, and the bare ones past their share are 503
// with Retry-After: the server's state, never the caller's network.
func TestServeInvitedCallGetsASlot(t *testing.T) {
	leakcheck.Check(t)
	errUnknown := errors.New("unknown invite")
	srv := startLoopbackServe(t, diagnose.ServerConfig{
		MaxPeers: 4, // a third kept for invited calls: 1
		Invites: func(_ context.Context, token string) error {
			if token == "good" {
				return nil
			}
			return errUnknown
		},
	})
	post := func(invite string) *http.Response {
		t.Helper()
		pc, offer := offerOnLoopback(t)
		t.Cleanup(func() { _ = pc.Close() })
		body, _ := json.Marshal(offer)
		req, _ := http.NewRequest(http.MethodPost, srv.Info().HTTP+testpeer.OfferPath, strings.NewReader(string(body)))
		if invite != "" {
			req.Header.Set(testpeer.InviteHeader, invite)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 3 {
		if resp := post(""); resp.StatusCode != http.StatusOK {
			t.Fatalf("bare offer %d: %s", i, resp.Status)
		}
	}
	if resp := post(""); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("bare offer past the uninvited slots: %s, Retry-After %q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	if resp := post("bad"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("offer with an unknown invite: %s, want 403", resp.Status)
	}
	if resp := post("good"); resp.StatusCode != http.StatusOK {
		t.Errorf("offer with a valid invite while bare offers fill their slots: %s, want an answer", resp.Status)
	}
	if n := srv.Peers(); n != 4 {
		t.Errorf("%d calls open, want 4", n)
	}
}

// TestDiagnoseServerBusy: bare offers from this address hold all the
// slots uninvited callers may take; `rtclab diagnose` then says the
// server was busy (an incomplete verdict), never that calls fail on this
// network (issue #13: it said BAD and exited 1).
func TestDiagnoseServerBusy(t *testing.T) {
	srv := startLoopbackServe(t, diagnose.ServerConfig{MaxPeers: 3, AllowPrivatePeers: true}) // 2 uninvited slots
	for range 2 {
		pc, offer := offerOnLoopback(t)
		t.Cleanup(func() { _ = pc.Close() })
		body, _ := json.Marshal(offer)
		resp, err := http.Post(srv.Info().HTTP+testpeer.OfferPath, "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("bare offer: %s", resp.Status)
		}
	}
	info, err := diagnose.FetchServer(context.Background(), nil, srv.Info().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := diagnose.NewPlan(diagnose.Inputs{
		Target: info.HTTP, STUN: info.STUN, TURN: info.TURN, Username: info.Username, Password: info.Password, Peer: info.HTTP,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := diagnose.Run(context.Background(), plan, diagnose.Options{IncludeLoopback: true, LocalIPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verdict %s: %s", res.Verdict.Level, res.Verdict.Summary)
	if res.Verdict.Level != diagnose.Info || !strings.Contains(res.Verdict.Summary, "busy") {
		t.Errorf("verdict %+v, want incomplete: the server was busy", res.Verdict)
	}
	for _, f := range res.Findings {
		if f.Level == diagnose.Bad {
			t.Errorf("a busy server graded this network bad: %s", f.Text)
		}
	}
}
