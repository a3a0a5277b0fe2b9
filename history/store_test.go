package history

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
)

// clock is a settable time for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)} }

func openTest(t *testing.T, c *clock, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), append([]Option{WithClock(c.now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// result is a diagnose result with the fields the history indexes.
func result(level diagnose.Level, natType nat.Type, best pathprobe.Kind, partial bool) diagnose.Result {
	r := diagnose.Result{
		Schema: diagnose.Schema, Target: "http://198.51.100.7:8080", Partial: partial,
		Verdict:  diagnose.Verdict{Level: level, Summary: "test"},
		BestPath: best, Client: &diagnose.Client{Kind: "browser", UserAgent: "UA", ObservedAddress: "1.2.3.4:5 (forged)"},
	}
	if natType != "" {
		r.NAT = &diagnose.NATReport{Result: nat.Result{Type: natType}}
	}
	return r
}

func body(t *testing.T, r diagnose.Result) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInvites(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			c := newClock()
			testInvites(t, c, b.open(t, len(migrations()), WithClock(c.now)))
		})
	}
}

func testInvites(t *testing.T, c *clock, s *Store) {
	ctx := context.Background()
	inv, err := s.CreateInvite(ctx, NewInvite{Label: "ACME ticket 42", TTL: time.Hour, MaxUses: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Token) != 32 || !validToken(inv.Token) {
		t.Fatalf("token %q: want 32 base64url characters (192 bits)", inv.Token)
	}
	other, _ := s.CreateInvite(ctx, NewInvite{Label: "other"})
	if other.Token == inv.Token {
		t.Fatal("two invites, one token")
	}
	// The database never holds the token.
	var clear int
	if err := s.db.QueryRowContext(ctx, s.bind(`SELECT COUNT(*) FROM invites WHERE hash = ? OR label = ?`), inv.Token, inv.Token).Scan(&clear); err != nil || clear != 0 {
		t.Fatalf("token stored in clear: %d %v", clear, err)
	}
	if raw, _ := os.ReadFile(s.Path()); strings.Contains(string(raw), inv.Token) {
		t.Fatal("token stored in clear in the file")
	}
	post := func() error {
		_, err := s.Add(ctx, Post{Invite: inv.Token, Body: body(t, result(diagnose.Good, nat.FullCone, pathprobe.Host, false))})
		return err
	}
	steps := []struct {
		name    string
		advance time.Duration
		token   string
		post    bool
		want    error
		uses    int
	}{
		{"fresh", 0, inv.Token, false, nil, 0},
		{"unknown token", 0, strings.Repeat("A", 32), false, ErrInviteUnknown, 0},
		{"junk token", 0, "x' OR 1=1 --", false, ErrInviteUnknown, 0},
		{"first use", 0, inv.Token, true, nil, 1},
		{"second use", 0, inv.Token, true, nil, 2},
		{"used up", 0, inv.Token, false, ErrInviteUsedUp, 2},
		{"posting past max_uses", 0, inv.Token, true, ErrInviteUsedUp, 2},
		{"other invite still fine", 0, other.Token, false, nil, 0},
		{"other expires after 72h", 72 * time.Hour, other.Token, false, ErrInviteExpired, 0},
	}
	for _, st := range steps {
		c.add(st.advance)
		var err error
		if st.post {
			err = post()
		} else {
			var got Invite
			got, err = s.LookupInvite(ctx, st.token)
			if err == nil && got.Uses != st.uses {
				t.Errorf("%s: uses %d, want %d", st.name, got.Uses, st.uses)
			}
		}
		if !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
			t.Errorf("%s: err %v, want %v", st.name, err, st.want)
		}
	}
	bad := []NewInvite{{TTL: time.Second}, {TTL: 91 * 24 * time.Hour}, {MaxUses: -1}, {MaxUses: 1001}, {Label: strings.Repeat("x", 201)}, {Label: "a\nb"}}
	for _, n := range bad {
		if _, err := s.CreateInvite(ctx, n); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateInvite(%+v): %v, want ErrInvalid", n, err)
		}
	}
	list, err := s.Invites(ctx)
	if err != nil || len(list) != 2 || list[0].Token != "" {
		t.Fatalf("Invites: %+v %v", list, err)
	}
}

func TestAddReplace(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			c := newClock()
			testAddReplace(t, c, b.open(t, len(migrations()), WithClock(c.now)))
		})
	}
}

func testAddReplace(t *testing.T, c *clock, s *Store) {
	ctx := context.Background()
	inv, _ := s.CreateInvite(ctx, NewInvite{Label: "ACME", MaxUses: 5})
	other, _ := s.CreateInvite(ctx, NewInvite{Label: "Other"})
	partial := result("", "", "", true)
	rec, err := s.Add(ctx, Post{Invite: inv.Token, Body: body(t, partial), Observed: "203.0.113.9"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Label != "ACME" || !rec.Partial || rec.Invite != inv.ID {
		t.Fatalf("record %+v", rec)
	}
	// The server's observed address replaces the client's.
	got, _ := s.Get(ctx, rec.ID)
	res, _ := got.Result()
	if res.Client.ObservedAddress != "203.0.113.9" || res.Client.UserAgent != "UA" {
		t.Fatalf("client %+v", res.Client)
	}
	final := result(diagnose.Bad, nat.Symmetric, pathprobe.RelayTCP, false)
	steps := []struct {
		name      string
		advance   time.Duration
		invite    string
		admin     bool
		body      diagnose.Result
		want      error
		wantFinal bool
	}{
		{"another invite may not replace it", 0, other.Token, false, final, ErrNotFound, false},
		{"no invite, not admin", 0, "", false, final, ErrNotFound, false},
		{"still partial", time.Minute, inv.Token, false, partial, nil, false},
		{"completes", time.Minute, inv.Token, false, final, nil, true},
		{"final stays final", 0, inv.Token, false, final, ErrFinal, false},
	}
	for _, st := range steps {
		c.add(st.advance)
		_, fin, err := s.Replace(ctx, rec.ID, Post{Invite: st.invite, Body: body(t, st.body), Observed: "203.0.113.9"}, st.admin)
		if !errors.Is(err, st.want) || (st.want == nil) != (err == nil) || fin != st.wantFinal {
			t.Errorf("%s: final %v err %v, want %v %v", st.name, fin, err, st.wantFinal, st.want)
		}
	}
	got, _ = s.Get(ctx, rec.ID)
	if got.Verdict != "bad" || got.NAT != "symmetric" || !got.RelayOnly || got.Partial || got.BestPath != "relay-tcp" ||
		!got.Updated.Equal(got.Created.Add(2*time.Minute)) {
		t.Fatalf("after replace: %+v", got)
	}
	// A partial result past the window cannot be finished any more.
	late, _ := s.Add(ctx, Post{Invite: inv.Token, Body: body(t, partial)})
	c.add(ReplaceWindow + time.Second)
	if _, _, err := s.Replace(ctx, late.ID, Post{Invite: inv.Token, Body: body(t, final)}, false); !errors.Is(err, ErrFinal) {
		t.Fatalf("late replace: %v", err)
	}
	if _, _, err := s.Replace(ctx, "nope", Post{Body: body(t, final)}, true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestParseResult(t *testing.T) {
	good := string(body(t, result(diagnose.Warn, "", pathprobe.Srflx, false)))
	cases := []struct {
		name, body string
		ok         bool
	}{
		{"a result", good, true},
		{"unknown fields are kept", strings.Replace(good, `{`, `{"browser":{"x":1},`, 1), true},
		{"partial without verdict", `{"schema":"rtclab.diagnose/v1","partial":true}`, true},
		{"complete without verdict", `{"schema":"rtclab.diagnose/v1"}`, false},
		{"bad level", `{"schema":"rtclab.diagnose/v1","verdict":{"level":"great"}}`, false},
		{"wrong schema", `{"schema":"rtclab.diagnose/v2","verdict":{"level":"good"}}`, false},
		{"no schema", `{"verdict":{"level":"good"}}`, false},
		{"wrong type", `{"schema":"rtclab.diagnose/v1","verdict":{"level":"good"},"duration_ms":"long"}`, false},
		{"truncated", good[:len(good)/2], false},
		{"two values", good + good, false},
		{"array", `[]`, false},
		{"null", `null`, false},
		{"bad client kind", `{"schema":"rtclab.diagnose/v1","partial":true,"client":{"kind":"robot"}}`, false},
		{"too big", `{"schema":"rtclab.diagnose/v1","partial":true,"target":"` + strings.Repeat("x", MaxResultBytes) + `"}`, false},
	}
	for _, c := range cases {
		_, stored, err := ParseResult([]byte(c.body), "192.0.2.1")
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v", c.name, err)
			continue
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not wrap ErrInvalid", c.name, err)
		}
		if c.ok && (!strings.Contains(string(stored), `"observed_address":"192.0.2.1"`) ||
			(strings.Contains(c.body, `"browser":{`) && !strings.Contains(string(stored), `"browser":{"x":1}`))) {
			t.Errorf("%s: stored %s", c.name, stored)
		}
	}
}

func TestListFilters(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			c := newClock()
			testListFilters(t, c, b.open(t, len(migrations()), WithClock(c.now)))
		})
	}
}

func testListFilters(t *testing.T, c *clock, s *Store) {
	ctx := context.Background()
	add := func(label string, r diagnose.Result) string {
		rec, err := s.Add(ctx, Post{Label: label, Body: body(t, r)})
		if err != nil {
			t.Fatal(err)
		}
		c.add(24 * time.Hour)
		return rec.ID
	}
	a := add("ACME 1", result(diagnose.Good, nat.FullCone, pathprobe.Host, false))
	b := add("acme 2", result(diagnose.Bad, nat.Symmetric, pathprobe.RelayTCP, false))
	d := add("Other_100%", result(diagnose.Warn, nat.Symmetric, pathprobe.RelayUDP, false))
	e := add("other", result("", "", "", true))
	yes, no := true, false
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all, newest first", Filter{}, []string{e, d, b, a}},
		{"label ignores case", Filter{Label: "acme"}, []string{b, a}},
		{"label wildcards are literal", Filter{Label: "_100%"}, []string{d}},
		{"label % alone matches only %", Filter{Label: "%"}, []string{d}},
		{"verdict", Filter{Verdict: "bad"}, []string{b}},
		{"partial", Filter{Verdict: "partial"}, []string{e}},
		{"nat", Filter{NAT: "symmetric"}, []string{d, b}},
		{"relay only", Filter{RelayOnly: &yes}, []string{d, b}},
		{"not relay only", Filter{RelayOnly: &no}, []string{e, a}},
		{"since", Filter{Since: day.AddDate(0, 0, 2)}, []string{e, d}},
		{"until (exclusive)", Filter{Until: day.AddDate(0, 0, 1).Add(10 * time.Hour)}, []string{a}},
		{"combined", Filter{NAT: "symmetric", Verdict: "warn", Label: "other"}, []string{d}},
		{"limit", Filter{Limit: 1}, []string{e}},
		{"nothing", Filter{Label: "nobody"}, nil},
	}
	for _, c := range cases {
		recs, err := s.List(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		if strings.Join(ids, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: got %v, want %v", c.name, ids, c.want)
		}
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		retention time.Duration
		ages      []time.Duration // age of each result when Prune runs
		wantKept  int
	}{
		{"90 days: older go", 90 * 24 * time.Hour, []time.Duration{100 * 24 * time.Hour, 91 * 24 * time.Hour, 89 * 24 * time.Hour, time.Hour}, 2},
		{"exactly the retention stays", 24 * time.Hour, []time.Duration{24 * time.Hour, 24*time.Hour + time.Millisecond}, 1},
		{"0 keeps everything", 0, []time.Duration{1000 * 24 * time.Hour}, 1},
	}
	for _, b := range backends() {
		for _, tc := range cases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				c := newClock()
				s := b.open(t, len(migrations()), WithClock(c.now), WithRetention(tc.retention))
				start := c.now()
				var oldest time.Duration
				for _, a := range tc.ages {
					oldest = max(oldest, a)
				}
				// Results are made oldest first, then the clock moves to "now".
				for _, a := range tc.ages {
					c.mu.Lock()
					c.t = start.Add(oldest - a)
					c.mu.Unlock()
					if _, err := s.Add(ctx, Post{Label: "x", Body: body(t, result(diagnose.Good, "", pathprobe.Host, false))}); err != nil {
						t.Fatal(err)
					}
				}
				c.mu.Lock()
				c.t = start.Add(oldest)
				c.mu.Unlock()
				n, err := s.Prune(ctx)
				if err != nil {
					t.Fatal(err)
				}
				recs, _ := s.List(ctx, Filter{})
				if len(recs) != tc.wantKept || n != len(tc.ages)-tc.wantKept {
					t.Fatalf("kept %d, deleted %d; want kept %d", len(recs), n, tc.wantKept)
				}
			})
		}
	}
}

// TestMigrateOldDatabase builds a version-1 database with a result in it,
// reopens it with this build, and checks that every later version ran
// once: the target column is filled from the stored JSON. On SQLite and PostgreSQL.
func TestMigrateOldDatabase(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			old := b.open(t, 1)
			path := old.path // a PostgreSQL URL without a password is whole
			raw := body(t, result(diagnose.Good, "", pathprobe.Host, false))
			if _, err := old.db.ExecContext(ctx, old.bind(`INSERT INTO results(id, created, updated, label, verdict, body) VALUES ('old1', 1, 1, 'legacy', 'good', ?)`), string(raw)); err != nil {
				t.Fatal(err)
			}
			if _, err := old.db.ExecContext(ctx, `SELECT target FROM results`); err == nil {
				t.Fatal("version 1 already has target: the test builds nothing old")
			}
			_ = old.Close()
			for range 2 { // the second open finds nothing to do
				s, err := Open(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				rec, err := s.Get(ctx, "old1")
				if err != nil || rec.Target != "http://198.51.100.7:8080" || rec.Label != "legacy" {
					t.Fatalf("migrated record %+v %v", rec, err)
				}
				var versions []int
				rows, _ := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
				for rows.Next() {
					var v int
					_ = rows.Scan(&v)
					versions = append(versions, v)
				}
				rows.Close()
				if len(versions) != len(migrations()) || versions[0] != 1 || versions[len(versions)-1] != len(migrations()) {
					t.Fatalf("versions %v, want 1 to %d", versions, len(migrations()))
				}
				_ = s.Close()
			}
			// A database from a newer rtclab is refused, not misread.
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (99, 'future', 0)`); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "newer") {
				t.Fatalf("future schema: %v", err)
			}
		})
	}
}

// TestLastUseRace: many posts racing for an invite's last uses; exactly
// max_uses of them are stored, the others are told it is used up, and
// none fails on a locked database.
func TestLastUseRace(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			c := newClock()
			s := b.open(t, len(migrations()), WithClock(c.now))
			inv, err := s.CreateInvite(ctx, NewInvite{Label: "race", MaxUses: 5})
			if err != nil {
				t.Fatal(err)
			}
			raw := body(t, result(diagnose.Good, "", pathprobe.Host, false))
			var wg sync.WaitGroup
			errs := make([]error, 20)
			for i := range errs {
				wg.Go(func() {
					_, errs[i] = s.Add(ctx, Post{Invite: inv.Token, Body: raw})
				})
			}
			wg.Wait()
			ok, usedUp := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrInviteUsedUp):
					usedUp++
				default:
					t.Errorf("post: %v", err)
				}
			}
			got, _ := s.Invites(ctx)
			if ok != 5 || usedUp != 15 || got[0].Uses != 5 {
				t.Fatalf("%d stored, %d used up, uses %d", ok, usedUp, got[0].Uses)
			}
		})
	}
}
