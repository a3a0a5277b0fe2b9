package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
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
	// scenario runs s min mean speed-up CPU MB packets allocs/packet
	// KB/packet peak heap-growth
	if len(row) != 13 || row[8] == "0" || row[9] == "-" || row[10] == "-" {
		t.Fatalf("quickstart row %q in\n%s", row, out)
	}
	if row[12] != "-" {
		t.Errorf("heap growth %q for a 30 s call, want - (warm-up, not growth)", row[12])
	}
	env, _, _ = testEnv(t)
	if code := Main([]string{"bench", "quickstart", "--runs", "1", "--cpuprofile", filepath.Join(dir, "no", "such", "dir")}, env); code != ExitUsage {
		t.Errorf("unwritable --cpuprofile: exit %d, want %d", code, ExitUsage)
	}
}

// The heap growth is sampled at a third of the call and 2 s before its
// end, once each, and is MB per minute of scenario time between them.
func TestHeapGrowth(t *testing.T) {
	var g heapGrowth
	total := 3 * time.Minute
	for s := time.Second; s < total; s += time.Second {
		g.sample(s, total)
	}
	if g.n != 2 || g.at[0] != time.Minute || g.at[1] != 178*time.Second {
		t.Fatalf("sampled %d at %v", g.n, g.at)
	}
	g.heap = [2]uint64{10e6, 69e6} // 59 MB over 118 s
	if v, ok := g.perMinute(); !ok || v < 29.99 || v > 30.01 {
		t.Errorf("perMinute %v %v, want 30", v, ok)
	}
	var short heapGrowth
	for s := time.Second; s < 170*time.Second; s += time.Second {
		short.sample(s, 170*time.Second)
	}
	if _, ok := short.perMinute(); ok {
		t.Error("a call under 3 minutes has a growth")
	}
}

// The peak heap is the largest heap a second's sample saw, garbage
// included, not the heap when the run ends: a small call collects only
// every 30 s (runner's gcEvery), so its heap is largest before that.
func TestPeakHeap(t *testing.T) {
	var g heapGrowth
	g.sample(time.Second, 30*time.Second)
	before := g.peak
	garbage := make([][]byte, 64)
	for i := range garbage {
		garbage[i] = make([]byte, 1<<20)
	}
	g.sample(2*time.Second, 30*time.Second)
	runtime.KeepAlive(garbage)
	garbage = nil
	runtime.GC()
	g.sample(3*time.Second, 30*time.Second)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if g.peak < before+60<<20 || m.HeapAlloc >= g.peak {
		t.Errorf("peak %d MB, heap %d MB before 64 MB were allocated, %d MB once collected", g.peak>>20, before>>20, m.HeapAlloc>>20)
	}
}
