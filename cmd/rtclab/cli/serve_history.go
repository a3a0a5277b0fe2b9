package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rtclab/rtclab/history"
)

// historyFlags are serve's flags for the history, the console and the API.
type historyFlags struct {
	db, adminToken, retention, webhook string
	resultRate                         float64
}

func (h *historyFlags) register(f *pflag.FlagSet) {
	f.StringVar(&h.db, "db", "", "history database: a SQLite file (default $XDG_STATE_HOME/rtclab/history.db, else ~/.local/state/rtclab/history.db), a postgres:// URL, or 'none' (no history, console or invites)")
	f.StringVar(&h.adminToken, "admin-token", "", "token for the console and the admin API, 16+ characters (default $RTCLAB_ADMIN_TOKEN, else a random one printed once)")
	f.StringVar(&h.retention, "retention", "90d", "delete results older than this (e.g. 30d, 720h; 0 keeps them forever)")
	f.StringVar(&h.webhook, "webhook", "", "POST each new complete result as JSON to this http(s) URL (5 s timeout, 12 tries over about 27 min; the queue is kept in --db across restarts)")
	f.Float64Var(&h.resultRate, "result-rate", history.DefaultPostsPerMinute, "new results one client IP address may post per minute, bursts of 10 (each uses an invite); past it 429")
}

// servedHistory is the history's running parts.
type servedHistory struct {
	store     *history.Store
	api       *history.API
	hook      *history.Webhook
	generated bool
	token     string
}

// openHistory checks the flags and opens the history; nil, nil with
// --db none. Every bad flag is a usage error.
func (h *historyFlags) open(ctx context.Context, stderr io.Writer, logger *slog.Logger) (*servedHistory, error) {
	if h.db == "none" {
		if h.webhook != "" || h.adminToken != "" {
			return nil, usagef("serve: --webhook and --admin-token need a history (not --db none)")
		}
		return nil, nil
	}
	retention, err := history.ParseAge(h.retention)
	if err != nil {
		return nil, usagef("serve: --retention %q: %v", h.retention, err)
	}
	if h.resultRate < 0 {
		return nil, usagef("serve: --result-rate %g: want 0 or more", h.resultRate)
	}
	s := &servedHistory{token: h.adminToken}
	if s.token == "" {
		s.token = os.Getenv("RTCLAB_ADMIN_TOKEN")
	}
	if s.token == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		s.token, s.generated = base64.RawURLEncoding.EncodeToString(b), true
	}
	if len(s.token) < history.MinAdminToken {
		return nil, usagef("serve: --admin-token: want at least %d characters (or none: one is generated and printed)", history.MinAdminToken)
	}
	if h.webhook != "" {
		// Checked before the database is opened; started once it is (its
		// queue lives there).
		if _, err := url.Parse(h.webhook); err != nil || !(strings.HasPrefix(h.webhook, "http://") || strings.HasPrefix(h.webhook, "https://")) {
			return nil, usagef("serve: --webhook %q: want an http:// or https:// URL", h.webhook)
		}
	}
	path := h.db
	if path == "" {
		if path, err = history.DefaultPath(); err != nil {
			s.close(stderr)
			return nil, usagef("serve: --db: %v", err)
		}
	}
	s.store, err = history.Open(ctx, path, history.WithRetention(retention))
	if err != nil {
		s.close(stderr)
		shown := path
		if u, perr := url.Parse(path); perr == nil && history.IsPostgres(path) {
			shown = u.Redacted() // never print a database password
		}
		return nil, usagef("serve: --db %s: %v", shown, strings.TrimPrefix(strings.TrimPrefix(err.Error(), "history: "), shown+": "))
	}
	if h.webhook != "" {
		hook, err := history.NewWebhook(history.WebhookConfig{URL: h.webhook, Store: s.store, Logger: logger})
		if err != nil {
			s.close(stderr)
			return nil, usagef("serve: %s", strings.TrimPrefix(err.Error(), history.ErrAPIConfig.Error()+": "))
		}
		s.hook = hook
		if n, err := s.store.QueuedEvents(ctx); err == nil && n > 0 {
			what := fmt.Sprintf("%d webhook events", n)
			if n == 1 {
				what = "1 webhook event"
			}
			fmt.Fprintf(stderr, "rtclab serve: %s left queued by an earlier run: sending them\n", what)
		}
	}
	rate := h.resultRate
	if rate == 0 {
		rate = -1 // no limit
	}
	s.api, err = history.NewAPI(history.APIConfig{Store: s.store, AdminToken: s.token, PostsPerMinute: rate, Webhook: s.hook, Logger: logger})
	if err != nil {
		s.close(stderr)
		return nil, &UsageError{Err: err}
	}
	n, err := s.store.Prune(ctx)
	if err != nil {
		s.close(stderr)
		return nil, fmt.Errorf("serve: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(stderr, "rtclab serve: deleted %d results older than --retention %s\n", n, h.retention)
	}
	return s, nil
}

// describe says where the history is and how to reach it.
func (s *servedHistory) describe(w io.Writer, base string) {
	keep := "forever"
	if r := s.store.Retention(); r > 0 {
		keep = fmt.Sprintf("%d days", int(r.Hours()/24))
		if r%(24*time.Hour) != 0 {
			keep = r.String()
		}
	}
	fmt.Fprintf(w, "  history: %s (results kept %s)\n", s.store.Path(), keep)
	fmt.Fprintf(w, "  console: %s/console; invites: POST %s/api/v1/invites with Authorization: Bearer <admin token>\n", base, base)
	if s.generated {
		fmt.Fprintf(w, "  admin token (generated, shown once; pass --admin-token to choose one): %s\n", s.token)
	}
}

// close stops the webhook (sending what is queued, for at most 10 s) and
// closes the database.
func (s *servedHistory) close(stderr io.Writer) {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.hook.Close(ctx)
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			fmt.Fprintf(stderr, "rtclab serve: closing the history: %v\n", err)
		}
	}
}
