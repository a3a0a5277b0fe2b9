package matrix

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestMatrixRepeatsExactly runs the whole default matrix three times with
// one seed: every field of all 196 cells (paths, pairs, candidates, setup
// times and checks_sent) must be the same in every run. The answerer's
// checks_sent used to differ in a few cells per run: pion's ICE agent
// starts, gathers its host candidate and adds the peer's at one virtual
// instant, and the scheduler decided how many rounds of checks went out
// (phase.CandidateDelay).
func TestMatrixRepeatsExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("three full matrices")
	}
	var first []string
	for run := 1; run <= 3; run++ {
		start := time.Now()
		r, err := Run(context.Background(), DefaultPlan(), Options{Bubble: bubble(t)})
		if err != nil {
			t.Fatal(err)
		}
		cells := make([]string, len(r.Cells))
		for i, c := range r.Cells {
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			cells[i] = string(b)
		}
		t.Logf("run %d: %d cells in %v", run, len(cells), time.Since(start).Round(10*time.Millisecond))
		if first == nil {
			first = cells
			continue
		}
		differ := 0
		for i := range cells {
			if cells[i] != first[i] {
				differ++
				if differ <= 5 {
					t.Errorf("run %d, cell %d differs:\n%s\n%s", run, i, first[i], cells[i])
				}
			}
		}
		if differ > 0 {
			t.Errorf("run %d: %d of %d cells differ from run 1", run, differ, len(cells))
		}
	}
}
