package matrix

import (
	"context"
	"encoding/json"
	"testing"
)

// The whole default matrix, run three times with one seed, gives the same
// cells in every field (paths, pairs, candidates, setup times) but one:
// the answerer's checks_sent still differs in about 8 of 196 cells per
// run (measured 2026-11-30), a race between pion's check ticks and the
// final snapshot that is not yet removed; the test logs how many.
func TestMatrixRepeatsExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("three full matrices")
	}
	var first []string
	var firstChecks [][2]uint64
	for run := 1; run <= 3; run++ {
		r, err := Run(context.Background(), DefaultPlan(), Options{Bubble: bubble(t)})
		if err != nil {
			t.Fatal(err)
		}
		cells := make([]string, len(r.Cells))
		checks := 0
		for i, c := range r.Cells {
			c.Offerer.ChecksSent, c.Answerer.ChecksSent = 0, 0
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			cells[i] = string(b)
		}
		if first == nil {
			first, firstChecks = cells, checksOf(r)
			continue
		}
		for i, n := range checksOf(r) {
			if n != firstChecks[i] {
				checks++
			}
		}
		t.Logf("run %d: checks_sent differs from run 1 in %d of %d cells", run, checks, len(cells))
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

func checksOf(r *Result) [][2]uint64 {
	out := make([][2]uint64, len(r.Cells))
	for i, c := range r.Cells {
		out[i] = [2]uint64{c.Offerer.ChecksSent, c.Answerer.ChecksSent}
	}
	return out
}
