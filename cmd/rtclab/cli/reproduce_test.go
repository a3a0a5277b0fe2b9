package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rtclab/rtclab/history"
	"github.com/rtclab/rtclab/scenarios"
)

func TestReproduceCLI(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := t.TempDir()
	result, err := os.ReadFile("../../../diagnose/testdata/loopback.json")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "diag.json")
	_ = os.WriteFile(file, result, 0o600)
	junk := filepath.Join(dir, "junk.json")
	_ = os.WriteFile(junk, []byte(`{"schema":"rtclab.report/v1"}`), 0o600)
	db := filepath.Join(dir, "h.db")
	store, err := history.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Add(context.Background(), history.Post{Label: "ACME", Body: result, Observed: "192.0.2.9"})
	_ = store.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.yaml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"a diagnose --json file", []string{file}, ExitPass, "nat: open  # RFC 5780", ""},
		{"a history id", []string{"--db", db, rec.ID}, ExitPass, "# Written by rtclab reproduce from history result " + rec.ID, ""},
		{"to a file", []string{file, "-o", out, "--name", "acme-office"}, ExitPass, "", "run it with: rtclab run " + out},
		{"no such file", []string{filepath.Join(dir, "nope.json")}, ExitUsage, "", "no file"},
		{"no history", []string{"--db", filepath.Join(dir, "none.db"), "abc"}, ExitUsage, "", "no history at"},
		{"no such result", []string{"--db", db, "abc"}, ExitUsage, "", "no file and no result abc"},
		{"not a result", []string{junk}, ExitUsage, "", `schema "rtclab.report/v1"`},
		{"a bad name", []string{file, "--name", "Bad Name"}, ExitUsage, "", "--name"},
		{"no argument", nil, ExitUsage, "", "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o, e bytes.Buffer
			code := Main(append([]string{"reproduce"}, tt.args...), Env{Stdout: &o, Stderr: &e, Interrupt: new(atomic.Bool)})
			if code != tt.code || !strings.Contains(o.String(), tt.stdout) || !strings.Contains(e.String(), tt.stderr) {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", code, o.String(), e.String())
			}
			if code == ExitPass && tt.stdout != "" {
				if _, err := scenarios.Parse("r.yaml", o.Bytes()); err != nil {
					t.Errorf("does not validate: %v", err)
				}
			}
		})
	}
	s, err := scenarios.Load(out)
	if err != nil || s.Name != "acme-office" {
		t.Fatalf("written scenario: %v", err)
	}
}
