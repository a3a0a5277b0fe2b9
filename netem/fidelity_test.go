package netem

import (
	"testing"
	"testing/synctest"
	"time"
)

// The emulator checks itself: every configured quantity is measured within
// its tolerance. The same suite is what `rtclab netem check` prints.
func TestFidelity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		results, err := CheckFidelity(1)
		if err != nil {
			t.Fatal(err)
		}
		if len(results) < 10 {
			t.Fatalf("only %d results", len(results))
		}
		for _, r := range results {
			t.Logf("%-40s %-24s configured %9.3f measured %9.3f ±%-7.3f %v", r.Case, r.Quantity, r.Configured, r.Measured, r.Tolerance, r.Pass)
			if !r.Pass {
				t.Errorf("%s: %s configured %v, measured %v (tolerance %v: %s)", r.Case, r.Quantity, r.Configured, r.Measured, r.Tolerance, r.Why)
			}
		}
	})
}

// A user's own link is measured part by part, each within tolerance,
// including jitter larger than the delay (clipped at 0).
func TestCheckLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		imp := Impairment{Rate: 300_000, QueueDelay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond, Loss: 0.02}
		results, err := CheckLink(1, imp)
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 6 { // loss; mean, std dev, order; rate, queue
			t.Errorf("%d results, want 6: %+v", len(results), results)
		}
		for _, r := range results {
			if !r.Pass {
				t.Errorf("%s: %s configured %v, measured %v (tolerance %v: %s)", r.Case, r.Quantity, r.Configured, r.Measured, r.Tolerance, r.Why)
			}
		}
	})
}
