package history

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/probes/pathprobe"
)

// TestRuns: an invite with two servers posts one result per server in one
// run for one use; the run refuses a third result, another invite, an
// admin, an unknown or old run; an expired invite cannot join. On SQLite
// and PostgreSQL.
func TestRuns(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			c := newClock()
			s := b.open(t, len(migrations()), WithClock(c.now))
			ctx := context.Background()
			inv, err := s.CreateInvite(ctx, NewInvite{Label: "regions", TTL: 2 * time.Hour, MaxUses: 1,
				Servers: []string{"https://eu.example.com:8080/", "http://192.0.2.1:8080"}})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := s.LookupInvite(ctx, inv.Token); len(got.Servers) != 2 || got.Servers[0] != "https://eu.example.com:8080" {
				t.Fatalf("servers as stored: %v", got.Servers)
			}
			other, _ := s.CreateInvite(ctx, NewInvite{Label: "other", MaxUses: 5})
			post := func(token, run, target string) (Record, error) {
				r := result(diagnose.Good, "", pathprobe.Host, false)
				r.Target = target
				return s.Add(ctx, Post{Invite: token, Body: body(t, r), Run: run})
			}
			first, err := post(inv.Token, "", "https://eu.example.com:8080")
			if err != nil || first.Run != first.ID {
				t.Fatalf("first result: %+v %v", first, err)
			}
			// The invite's one use is taken: a new run is refused, joining
			// the first is not.
			if _, err := post(inv.Token, "", "x"); !errors.Is(err, ErrInviteUsedUp) {
				t.Errorf("a second run of a one-use invite: %v", err)
			}
			for _, tc := range []struct {
				name, token, run string
				want             error
			}{
				{"another invite", other.Token, first.ID, ErrNotFound},
				{"an unknown run", inv.Token, "00112233445566778899aabbccddeeff", ErrNotFound},
				{"the admin", "", first.ID, ErrInvalid},
			} {
				if _, err := post(tc.token, tc.run, "x"); !errors.Is(err, tc.want) {
					t.Errorf("%s joins the run: %v, want %v", tc.name, err, tc.want)
				}
			}
			second, err := post(inv.Token, first.ID, "http://192.0.2.1:8080")
			if err != nil || second.Run != first.ID || second.Invite != first.Invite || second.Label != "regions" {
				t.Fatalf("second server's result: %+v %v", second, err)
			}
			if _, err := post(inv.Token, first.ID, "http://198.51.100.9:8080"); !errors.Is(err, ErrInviteUsedUp) {
				t.Errorf("a third result in a run of two servers: %v", err)
			}
			if _, err := post(inv.Token, second.ID, "x"); !errors.Is(err, ErrNotFound) {
				t.Errorf("joining a run by its second result: %v", err)
			}
			recs, err := s.Run(ctx, first.ID)
			if err != nil || len(recs) != 2 || recs[0].ID != first.ID || recs[1].ID != second.ID {
				t.Fatalf("run: %+v %v", recs, err)
			}
			if got, _ := s.LookupInvite(ctx, inv.Token); got.Uses != 1 {
				t.Errorf("uses %d, want 1 for one run", got.Uses)
			}
			if _, err := s.Run(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown run: %v", err)
			}
			// A run older than ReplaceWindow, or of an expired invite, is closed.
			multi, _ := s.CreateInvite(ctx, NewInvite{Label: "m", TTL: 3 * time.Hour, MaxUses: 3, Servers: []string{"http://a.example:1", "http://b.example:1"}})
			old, err := post(multi.Token, "", "http://a.example:1")
			if err != nil {
				t.Fatal(err)
			}
			c.add(ReplaceWindow + time.Minute)
			if _, err := post(multi.Token, old.ID, "http://b.example:1"); !errors.Is(err, ErrFinal) {
				t.Errorf("joining a run older than %s: %v", ReplaceWindow, err)
			}
			c.add(time.Hour) // inv's two hours are over
			if _, err := post(inv.Token, first.ID, "x"); !errors.Is(err, ErrInviteExpired) {
				t.Errorf("joining with an expired invite: %v", err)
			}
		})
	}
}

// TestCheckServers: what an invite's server list may hold.
func TestCheckServers(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string // "" for an error
	}{
		{nil, "[]"},
		{[]string{"https://eu.example.com:8080/", "http://192.0.2.1:8080"}, "[https://eu.example.com:8080 http://192.0.2.1:8080]"},
		{[]string{"http://[2001:db8::1]:8080"}, "[http://[2001:db8::1]:8080]"},
		{[]string{"ftp://x.example"}, ""},
		{[]string{"eu.example.com:8080"}, ""},
		{[]string{"https://eu.example.com/path"}, ""},
		{[]string{"https://eu.example.com?x=1"}, ""},
		{[]string{"https://user:pw@eu.example.com"}, ""},
		{[]string{"https://eu.example.com; script-src *"}, ""},
		{[]string{"https://a.example", "https://a.example/"}, ""},
		{[]string{"http://1", "http://2", "http://3", "http://4", "http://5", "http://6", "http://7", "http://8", "http://9"}, ""},
	} {
		got, err := CheckServers(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q: accepted as %v", tc.in, got)
		case tc.want != "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.want != "" && fmtList(got) != tc.want:
			t.Errorf("%q: %v, want %s", tc.in, got, tc.want)
		case err != nil && !errors.Is(err, ErrInvalid):
			t.Errorf("%q: %v does not wrap ErrInvalid", tc.in, err)
		}
	}
}

func fmtList(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}

// TestAPIRuns: the API's side of several servers — the invite's servers
// checked (400 naming the bad one), a run joined with ?run=, its ranking
// for the admin only, by diagnose's rule (a good server before a bad one
// whatever the order posted), and the console's page of it.
func TestAPIRuns(t *testing.T) {
	e := newAPIEnv(t, APIConfig{})
	code, _, b := e.do("POST", "/api/v1/invites", []byte(`{"label":"r","servers":["https://ok.example","javascript:alert(1)"]}`), bearer)
	if code != http.StatusBadRequest || !strings.Contains(string(b), "javascript:alert(1)") {
		t.Errorf("a bad server: %d %s", code, b)
	}
	code, _, b = e.do("POST", "/api/v1/invites", []byte(`{"label":"r","max_uses":1,"servers":["http://bad.example:8080","http://good.example:8080"]}`), bearer)
	var inv struct{ Token string }
	if code != http.StatusCreated || json.Unmarshal(b, &inv) != nil {
		t.Fatalf("invite: %d %s", code, b)
	}
	post := func(path string, level diagnose.Level, target string) (int, resultCreated) {
		r := result(level, "", pathprobe.Host, false)
		r.Target = target
		code, _, b := e.do("POST", path, body(t, r), InviteHeader+": "+inv.Token)
		var c resultCreated
		_ = json.Unmarshal(b, &c)
		return code, c
	}
	code, first := post("/api/v1/results", diagnose.Bad, "http://bad.example:8080")
	if code != http.StatusCreated || first.Run != first.ID {
		t.Fatalf("first: %d %+v", code, first)
	}
	code, second := post("/api/v1/results?run="+first.Run, diagnose.Good, "http://good.example:8080")
	if code != http.StatusCreated || second.Run != first.Run {
		t.Fatalf("second: %d %+v", code, second)
	}
	if code, _ := post("/api/v1/results?run="+first.Run, diagnose.Good, "http://third.example:8080"); code != http.StatusGone {
		t.Errorf("a third result in a two-server run: %d, want 410", code)
	}
	if code, _, _ := e.do("GET", "/api/v1/runs/"+first.Run, nil); code != http.StatusUnauthorized {
		t.Errorf("a run without the admin token: %d", code)
	}
	code, _, b = e.do("GET", "/api/v1/runs/"+first.Run, nil, bearer)
	var c diagnose.Comparison
	if code != http.StatusOK || json.Unmarshal(b, &c) != nil || len(c.Servers) != 2 ||
		c.Servers[0].Server != "http://good.example:8080" || c.Servers[1].Server != "http://bad.example:8080" {
		t.Errorf("ranking: %d %+v", code, c.Servers)
	}
	code, _, b = e.do("GET", "/console/runs/"+first.Run, nil, bearer)
	if code != http.StatusOK || !strings.Contains(string(b), "1. http://good.example:8080") {
		t.Errorf("console run: %d %.300s", code, b)
	}
	code, _, b = e.do("GET", "/console", nil, bearer)
	if code != http.StatusOK || !strings.Contains(string(b), "/console/runs/"+first.Run) {
		t.Errorf("the console does not link the run: %d", code)
	}
	if code, _, _ := e.do("GET", "/api/v1/runs/nope", nil, bearer); code != http.StatusNotFound {
		t.Errorf("unknown run: %d", code)
	}
}

// FuzzCheckServers feeds arbitrary server lists (an invite request's
// "servers", one per line of the input): nothing panics, and what is
// accepted is a list of distinct bare http(s) base URLs with nothing a
// Content-Security-Policy or an HTML attribute could be broken by.
func FuzzCheckServers(f *testing.F) {
	for _, s := range []string{"https://eu.example.com:8080/\nhttp://192.0.2.1:8080", "http://[2001:db8::1]:80", "javascript:alert(1)", "http://a; script-src *", "http://a\nhttp://a/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CheckServers(strings.Split(in, "\n"))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%v does not wrap ErrInvalid", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, s := range got {
			if !(strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")) || strings.ContainsAny(s, " \t\n\"';,<>\\") || seen[s] {
				t.Fatalf("accepted %q in %q", s, got)
			}
			seen[s] = true
		}
	})
}
