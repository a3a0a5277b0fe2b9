package netem

import (
	"testing"
	"testing/synctest"
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
