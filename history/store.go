package history

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// DefaultRetention is how long results are kept unless told otherwise.
const DefaultRetention = 90 * 24 * time.Hour

// Store is the history database. Safe for concurrent use.
type Store struct {
	db        *sql.DB
	path      string
	pg        bool // PostgreSQL (postgres://), else SQLite
	now       func() time.Time
	retention time.Duration
}

// Option changes how Open sets up a Store.
type Option func(*Store)

// WithClock makes the store read the time from now (tests: expiry and
// retention without waiting).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithRetention keeps results for d; 0 or less keeps them forever.
func WithRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// DefaultPath is where the history lives without --db:
// $XDG_STATE_HOME/rtclab/history.db, or ~/.local/state/rtclab/history.db
// (the XDG base directory specification's place for state that outlives a
// run but is not configuration).
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("history: no home directory for the default --db: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "rtclab", "history.db"), nil
}

// Open opens the history at path and brings its schema up to date: a
// SQLite file (made, with its folder, if needed), or a PostgreSQL
// database given as a postgres:// URL (pgx; a database shared by several
// servers).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	return openAt(ctx, path, len(migrations()), opts...)
}

// openAt is Open that migrates only up to version (tests build old
// databases with it).
func openAt(ctx context.Context, path string, version int, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty database path", ErrInvalid)
	}
	if IsPostgres(path) {
		return openPostgres(ctx, path, version, opts)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
	}
	// WAL lets the console read while a result is written; busy_timeout
	// waits for a writer instead of failing; foreign keys are off by
	// default in SQLite (section 4 of its foreign key docs). Transactions
	// (all of them write) begin IMMEDIATE: a deferred one that reads, then
	// writes, fails at once with SQLITE_BUSY when another writer got there
	// first, and busy_timeout cannot help it (TestLastUseRace).
	q := url.Values{"_txlock": {"immediate"}}
	for _, p := range []string{"busy_timeout(5000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path, now: time.Now, retention: DefaultRetention}
	for _, o := range opts {
		o(s)
	}
	if err := migrate(ctx, s, version); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("history: %s: %w", path, err)
	}
	// The file holds customers' network data: only its owner reads it.
	_ = os.Chmod(path, 0o600)
	return s, nil
}

// IsPostgres says whether a --db value names a PostgreSQL database.
func IsPostgres(path string) bool {
	return strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://")
}

func openPostgres(ctx context.Context, dsn string, version int, opts []Option) (*Store, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: database URL: %w", ErrInvalid, err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("history: open %s: %w", u.Redacted(), err)
	}
	s := &Store{db: db, path: u.Redacted(), pg: true, now: time.Now, retention: DefaultRetention}
	for _, o := range opts {
		o(s)
	}
	if err := migrate(ctx, s, version); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("history: %s: %w", s.path, err)
	}
	return s, nil
}

// bind rewrites a query's ? placeholders to PostgreSQL's $1, $2, ...
// (the queries hold no ? in literals).
func (s *Store) bind(q string) string {
	if !s.pg {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Path is the database file (a PostgreSQL URL without its password).
func (s *Store) Path() string { return s.path }

// Retention is how long results are kept (0: forever).
func (s *Store) Retention() time.Duration { return s.retention }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Prune deletes the results created longer than the retention ago, and
// the invites that expired longer than that ago; it returns how many
// results went.
func (s *Store) Prune(ctx context.Context) (int, error) {
	if s.retention <= 0 {
		return 0, nil
	}
	cut := ms(s.now().Add(-s.retention))
	res, err := s.db.ExecContext(ctx, s.bind(`DELETE FROM results WHERE created < ?`), cut)
	if err != nil {
		return 0, fmt.Errorf("history: prune: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := s.db.ExecContext(ctx, s.bind(`DELETE FROM invites WHERE expires < ? AND NOT EXISTS (SELECT 1 FROM results WHERE results.invite = invites.hash)`), cut); err != nil {
		return int(n), fmt.Errorf("history: prune invites: %w", err)
	}
	return int(n), nil
}

// ms is t in Unix milliseconds, the stored form of every time.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS is the inverse of ms, in UTC.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
