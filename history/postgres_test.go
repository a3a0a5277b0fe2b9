package history

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/realpeer"
)

// A throwaway PostgreSQL server (Debian's postgresql package) for the
// store's tests: started once, on a Unix socket in a folder of its own,
// as user postgres, and stopped by its PID when the tests end.
var pg struct {
	once sync.Once
	cmd  *exec.Cmd
	dir  string
	dsn  string // the admin database
	err  error
	n    atomic.Int32
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pg.cmd != nil {
		_ = pg.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		_ = pg.cmd.Wait()
	}
	if pg.dir != "" {
		_ = os.RemoveAll(pg.dir)
	}
	os.Exit(code)
}

func startPostgres() error {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return fmt.Errorf("no PostgreSQL (apt-get install -y postgresql)")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	u, err := user.Lookup("postgres")
	if err != nil || os.Geteuid() != 0 {
		return fmt.Errorf("PostgreSQL runs as user postgres, which needs root to start: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "history-pg-")
	if err != nil {
		return err
	}
	pg.dir = dir
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	as := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync")
	initdb.SysProcAttr, initdb.Dir = as, dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	pg.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"), "-k", dir,
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "full_page_writes=off")
	pg.cmd.SysProcAttr, pg.cmd.Dir = as, dir
	if err := pg.cmd.Start(); err != nil {
		pg.cmd = nil
		return err
	}
	pg.dsn = "postgres:///postgres?user=postgres&host=" + url.QueryEscape(dir)
	db, err := sql.Open("pgx", pg.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for range 100 { // until it takes connections (about a second)
		if err = db.Ping(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("postgres did not start: %w", err)
}

// postgresDSN makes a fresh database on the test server and returns its
// URL; the test is skipped (failed with RTCLAB_REQUIRE_PEERS=1) when no
// server can run here.
func postgresDSN(t *testing.T) string {
	t.Helper()
	pg.once.Do(func() { pg.err = startPostgres() })
	if pg.err != nil {
		realpeer.Unavailable(t, pg.err.Error())
	}
	name := fmt.Sprintf("history_%d", pg.n.Add(1))
	db, err := sql.Open("pgx", pg.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	return "postgres:///" + name + "?user=postgres&host=" + url.QueryEscape(pg.dir)
}

// backend opens a store of one kind at a schema version.
type backend struct {
	name string
	open func(t *testing.T, version int, opts ...Option) *Store
}

// backends are SQLite and PostgreSQL: the store's tests run on both.
func backends() []backend {
	open := func(t *testing.T, path string, version int, opts []Option) *Store {
		s, err := openAt(context.Background(), path, version, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	return []backend{
		{"sqlite", func(t *testing.T, version int, opts ...Option) *Store {
			return open(t, filepath.Join(t.TempDir(), "h.db"), version, opts)
		}},
		{"postgres", func(t *testing.T, version int, opts ...Option) *Store {
			return open(t, postgresDSN(t), version, opts)
		}},
	}
}
