package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchProfiles runs bench with both profiles and wants them written,
// and the per-packet columns filled from the run's streams.
func TestBenchProfiles(t *testing.T) {
	env, out, errb := testEnv(t)
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.out"), filepath.Join(dir, "mem.out")
	if code := Main([]string{"bench", "quickstart", "--runs", "1", "--cpuprofile", cpu, "--memprofile", mem}, env); code != ExitPass {
		t.Fatalf("exit %d: %s", code, errb)
	}
	for _, f := range []string{cpu, mem} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var row []string
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "quickstart" {
			row = f
		}
	}
	// scenario runs s min mean speed-up CPU MB packets allocs/packet KB/packet peak
	if len(row) != 12 || row[8] == "0" || row[9] == "-" || row[10] == "-" {
		t.Errorf("quickstart row %q in\n%s", row, out)
	}
	env, _, _ = testEnv(t)
	if code := Main([]string{"bench", "quickstart", "--runs", "1", "--cpuprofile", filepath.Join(dir, "no", "such", "dir")}, env); code != ExitUsage {
		t.Errorf("unwritable --cpuprofile: exit %d, want %d", code, ExitUsage)
	}
}
