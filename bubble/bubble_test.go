package bubble

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// Inside a run the process has one P and no automatic collector; after
// it, the settings are what they were.
func TestRunSetsUpAndRestores(t *testing.T) {
	procs, gc := runtime.GOMAXPROCS(0), debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	Run(t, func() {
		if p := runtime.GOMAXPROCS(0); p != 1 {
			t.Errorf("GOMAXPROCS %d inside a bubble, want 1", p)
		}
		if g := debug.SetGCPercent(-1); g != -1 {
			t.Errorf("GC percent %d inside a bubble, want -1 (off)", g)
		}
		start := time.Now()
		time.Sleep(time.Hour)
		if time.Since(start) != time.Hour {
			t.Error("not virtual time")
		}
	})
	if p := runtime.GOMAXPROCS(0); p != procs {
		t.Errorf("GOMAXPROCS %d after the bubble, want %d", p, procs)
	}
	if g := debug.SetGCPercent(gc); g != gc {
		t.Errorf("GC percent %d after the bubble, want %d", g, gc)
	}
}
