//go:build race

package matrix

import (
	"encoding/json"
	"testing"

	"github.com/rtclab/rtclab/netem"
)

// TestCellRepeatsUnderShuffledScheduler runs one cell (open -> full cone,
// host-only) eight times in a -race build, whose scheduler runs
// goroutines woken at one instant in a random order on purpose: a
// coincidence that one P hides now and then shows in a few runs. Before
// agents waited phase.CandidateDelay to add a trickled candidate, pion's
// ICE agent started, gathered its host candidate and learned the peer's
// at one instant, and the offerer's checks_sent was 11 or 12 and the
// answerer's 9 or 10 across eight such runs. Run it with
// go test -race -run TestCellRepeatsUnderShuffledScheduler ./matrix.
func TestCellRepeatsUnderShuffledScheduler(t *testing.T) {
	p := DefaultPlan()
	c := Cell{ICE: HostOnly, Row: PresetNAT(netem.Open), Col: PresetNAT(netem.FullCone)}
	var first []byte
	for run := 1; run <= 8; run++ {
		cr := runCell(p, c, bubble(t))
		b, err := json.Marshal(cr)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
			continue
		}
		if string(b) != string(first) {
			t.Errorf("run %d differs from run 1:\n%s\n%s", run, first, b)
		}
	}
}
