package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/shard"
)

// Three shards of a grid, merged, give the whole grid's matrix.json byte
// for byte, wall-clock fields aside and checks_sent zeroed: that count
// still races pion's check ticks and differs between two runs of one
// seed (see TestMatrixRepeatsExactly).
func TestShardsMergeToTheWholeGrid(t *testing.T) {
	p := DefaultPlan()
	p.NATs = []NAT{PresetNAT(netem.Open), PresetNAT(netem.Symmetric), PresetNAT(netem.PortRestrictedCone)}
	p.ICE = []ICEConfig{STUNOnly}
	run := func(s shard.Shard) *Result {
		r, err := Run(context.Background(), p, Options{Bubble: bubble(t), Shard: s, Tool: "rtclab test"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	whole := run(shard.Shard{})
	var parts []*Result
	for i := range 3 {
		parts = append(parts, run(shard.Shard{Index: i, Count: 3}))
		if len(parts[i].Cells) != 3 || parts[i].Shard == nil {
			t.Fatalf("shard %d: %d cells, shard %v", i, len(parts[i].Cells), parts[i].Shard)
		}
	}
	merged, err := Merge([]*Result{parts[1], parts[2], parts[0]})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := wallFree(t, whole), wallFree(t, merged); !bytes.Equal(a, b) {
		t.Errorf("merged matrix.json differs from the whole grid's:\n%s\n---\n%s", a, b)
	}
	if m, err := Merge(parts[:2]); err != nil || !m.Partial || m.Verdict != "fail" || len(m.Cells) != 6 {
		t.Errorf("two of three shards: %v, partial %v, %d cells", err, m.Partial, len(m.Cells))
	}
	if _, err := Merge([]*Result{parts[0], parts[0]}); err == nil {
		t.Error("a shard merged twice was accepted")
	}
	if _, err := Merge([]*Result{whole}); err == nil {
		t.Error("a whole grid was accepted as a shard")
	}
}

func wallFree(t *testing.T, r *Result) []byte {
	t.Helper()
	c := *r
	c.StartedAt, c.WallSeconds = "", 0
	c.Cells = append([]CellResult(nil), r.Cells...)
	for i := range c.Cells {
		c.Cells[i].Offerer.ChecksSent, c.Cells[i].Answerer.ChecksSent = 0, 0
	}
	js, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return js
}
