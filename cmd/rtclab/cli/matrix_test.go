package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/matrix"
)

func TestMatrixSmallGrid(t *testing.T) {
	grid := filepath.Join(t.TempDir(), "grid.yaml")
	if err := os.WriteFile(grid, []byte("nats: [open, symmetric, port-restricted-cone]\nice: [stun, stun-turn]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env, out, errb := testEnv(t)
	dir := t.TempDir()
	code := Main([]string{"matrix", grid, "--out", dir, "--workers", "1"}, env)
	if code != ExitPass {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	if !strings.HasPrefix(out.String(), "PASS matrix: 18 cells") {
		t.Errorf("stdout does not lead with the verdict:\n%s", out)
	}
	for _, want := range []string{"STUN only", "relay 2.", "failed > 5"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{matrix.JSONFile, matrix.HeatmapFile, matrix.HTMLFile} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	r, err := matrix.ReadJSON(filepath.Join(dir, matrix.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if r.File != grid || len(r.Cells) != 18 || r.Unexpected != 0 {
		t.Errorf("matrix.json: file %q, %d cells, %d unexpected", r.File, len(r.Cells), r.Unexpected)
	}
}

func TestMatrixInterruptedIsPartialAndFails(t *testing.T) {
	env, out, _ := testEnv(t)
	env.Interrupt.Store(true)
	dir := t.TempDir()
	if code := Main([]string{"matrix", "--out", dir, "--ice", "stun"}, env); code != ExitFail {
		t.Fatalf("exit %d, want %d", code, ExitFail)
	}
	r, err := matrix.ReadJSON(filepath.Join(dir, matrix.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Partial || r.Verdict != "fail" || !strings.Contains(out.String(), "PARTIAL") {
		t.Errorf("partial %v verdict %s; stdout:\n%s", r.Partial, r.Verdict, out)
	}
}

func TestMatrixHelp(t *testing.T) {
	env, out, _ := testEnv(t)
	if code := Main([]string{"matrix", "--help"}, env); code != ExitPass {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"matrix [FILE]", "196 cells", "--workers", "relay-only"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}

func TestMatrixBadInputExits2(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("nats: [open, cone]\nduration: 2h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad file", []string{"matrix", bad}, "bad.yaml:1: nats[1]: unknown NAT \"cone\""},
		{"every problem", []string{"matrix", bad}, "bad.yaml:2: duration: 2h0m0s is outside 1s..1m0s"},
		{"missing file", []string{"matrix", "nope.yaml"}, "nope.yaml: open nope.yaml: no such file"},
		{"bad ice", []string{"matrix", "--ice", "stun,turn"}, `--ice "turn": allowed host-only, stun, stun-turn, relay-only`},
		{"bad workers", []string{"matrix", "--workers", "0"}, "--workers 0: allowed 1..16"},
		{"bad seed", []string{"matrix", "--seed", "0"}, "--seed 0: must be >= 1"},
		{"two files", []string{"matrix", "a.yaml", "b.yaml"}, "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, out, errb := testEnv(t)
			dir := filepath.Join(t.TempDir(), "out")
			code := Main(append(tt.args, "--out", dir), env)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr %s", code, ExitUsage, errb)
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty: %q", out)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("an output directory was made for unusable input")
			}
		})
	}
}

// The matrix claims its folder as rtclab run does: a default name taken in
// the same second gets a suffix, a used --out needs --overwrite.
func TestMatrixOutputFolderIsItsOwn(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	second := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	for range 2 {
		env, _, _ := testEnv(t)
		env.Interrupt.Store(true) // stop at once: the folder is what is tested
		env.Now = func() time.Time { return second }
		if code := Main([]string{"matrix", "--ice", "stun"}, env); code != ExitFail {
			t.Fatalf("exit %d, want %d", code, ExitFail)
		}
	}
	for _, d := range []string{"matrix-20261130-050000", "matrix-20261130-050000-2"} {
		if _, err := matrix.ReadJSON(filepath.Join(defaultOutRoot, d, matrix.JSONFile)); err != nil {
			t.Error(err)
		}
	}
	used := filepath.Join(defaultOutRoot, "matrix-20261130-050000")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"matrix", "--ice", "stun", "--out", used}, ExitUsage},
		{[]string{"matrix", "--ice", "stun", "--out", used, "--overwrite"}, ExitFail},
	} {
		env, _, errb := testEnv(t)
		env.Interrupt.Store(true)
		if code := Main(tc.args, env); code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, errb)
		}
	}
}
