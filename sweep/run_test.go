package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtclab/rtclab/bubble"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/shard"
)

// smallSweep is 2 x 2 cells of a short quickstart: bob's downlink loss
// 0 % and 8 %, seeds 1 and 2.
func smallSweep(t *testing.T) *Plan {
	t.Helper()
	data, file := quickstart(t)
	p, err := NewPlan(file, data, mustVary(t,
		"participants.bob.downlink.loss=0%..8%/8%",
		"seed=1,2",
		"duration=6s",
	), []string{"freeze_count", "mos", "loss_fraction", "connected"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runSweep(t *testing.T, p *Plan, opt Options) *Result {
	t.Helper()
	opt.Bubble = func(f func()) { bubble.Run(t, f) }
	opt.Tool = "rtclab test"
	r, err := Run(context.Background(), p, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The sweep's table holds what individual runs of the same cells
// measure. The individual runs are written by hand (text substitution
// in the scenario file, not the node editing of the sweep) and read
// their values straight from the report, not through MetricValues.
func TestSweepMatchesIndividualRuns(t *testing.T) {
	var counted []int
	r := runSweep(t, smallSweep(t), Options{Workers: 2, Checkpoint: func(r *Result) {
		counted = append(counted, len(r.Cells)-r.NotRun)
	}})
	if fmt.Sprint(counted) != "[1 2 3 4]" {
		t.Errorf("checkpoints with %v cells done, want one per cell", counted)
	}
	if r.Total != 4 || len(r.Cells) != 4 || r.NotRun != 0 || r.Errors != 0 {
		t.Fatalf("total %d, %d cells, %d not run, %d errors", r.Total, len(r.Cells), r.NotRun, r.Errors)
	}
	data, file := quickstart(t)
	lossy := 0
	for i, c := range r.Cells {
		loss, seed := c.Values[0], c.Values[1]
		text := strings.Replace(string(data), "loss: 3%", "loss: "+loss, 1)
		text = strings.Replace(text, "seed: 1", "seed: "+seed, 1)
		text = strings.Replace(text, "duration: 30s", "duration: 6s", 1)
		s, err := scenarios.Parse(file, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		var rep *reports.Report
		bubble.Run(t, func() {
			rep, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual})
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{}
		for _, st := range rep.Streams {
			subject := st.From + "->" + st.To + " " + st.Kind
			want["loss_fraction "+subject] = st.LossFraction
			if st.Video != nil {
				want["freeze_count "+subject] = float64(st.Video.FreezeCount)
			}
			if st.Audio != nil {
				want["mos "+subject] = st.Audio.MOS
			}
		}
		for _, p := range rep.Participants {
			want["connected "+p.Name] = map[bool]float64{true: 1, false: 0}[p.Connected]
		}
		if len(c.Metrics) != len(want) {
			t.Errorf("cell %d: %d values, the report has %d", i, len(c.Metrics), len(want))
		}
		for _, m := range c.Metrics {
			w, ok := want[m.Metric+" "+m.Subject]
			if !ok || m.Value == nil || *m.Value != w {
				t.Errorf("cell %d (%v): %s %s = %v, individual run %v (%v)", i, c.Values, m.Metric, m.Subject, fmtPtr(m.Value), w, ok)
			}
		}
		if len(c.Checks) != len(rep.Checks) {
			t.Fatalf("cell %d: %d checks, individual run %d", i, len(c.Checks), len(rep.Checks))
		}
		for k := range c.Checks {
			if c.Checks[k].Name != rep.Checks[k].Name || c.Checks[k].Verdict != rep.Checks[k].Verdict {
				t.Errorf("cell %d check %d: %s %s, individual run %s %s", i, k, c.Checks[k].Name, c.Checks[k].Verdict, rep.Checks[k].Name, rep.Checks[k].Verdict)
			}
		}
		if wantStatus := map[string]string{"pass": StatusPass, "fail": StatusFail}[rep.Verdict]; c.Status != wantStatus {
			t.Errorf("cell %d: status %s, individual run verdict %s", i, c.Status, rep.Verdict)
		}
		if loss == "8%" {
			for _, m := range c.Metrics {
				if m.Metric == "loss_fraction" && strings.Contains(m.Subject, "->bob audio") && m.Value != nil && *m.Value > 0.03 {
					lossy++
				}
			}
		}
	}
	// The varied field reached the wire: 8 % loss shows in bob's audio.
	if lossy != 2 {
		t.Errorf("%d of 2 cells at 8%% loss show it on bob's audio", lossy)
	}
	var csv bytes.Buffer
	if err := WriteCSV(&csv, r); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(csv.String(), "\n"); lines != 5 {
		t.Errorf("csv has %d lines, want a header and 4 cells:\n%s", lines, csv.String())
	}
	charts, err := Charts(r)
	if err != nil || len(charts) != 4 {
		t.Errorf("%d charts, %v; want a grid per metric", len(charts), err)
	}
}

func fmtPtr(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(*v)
}

// Ctrl-C before the start leaves every cell not run, in a readable
// result that fails.
func TestSweepInterrupted(t *testing.T) {
	stop := new(atomic.Bool)
	stop.Store(true)
	opt := Options{Interrupt: stop, Bubble: func(f func()) { bubble.Run(t, f) }}
	r, err := Run(context.Background(), smallSweep(t), opt)
	if err == nil || r == nil {
		t.Fatalf("err %v", err)
	}
	if r.NotRun != 4 || !r.Partial || r.Verdict != "fail" || len(r.Cells) != 4 || r.Cells[3].Values[1] != "2" {
		t.Errorf("not run %d, partial %v, verdict %s, cells %+v", r.NotRun, r.Partial, r.Verdict, r.Cells)
	}
	if _, err := EncodeJSON(r); err != nil {
		t.Error(err)
	}
}

// Three shards merged give, byte for byte, the JSON of the whole sweep
// (wall-clock fields aside): cells are merged, not statistics.
func TestShardsMergeToTheWholeSweep(t *testing.T) {
	p := smallSweep(t)
	whole := runSweep(t, p, Options{Workers: 2})
	var parts []*Result
	for i := range 3 {
		part := runSweep(t, p, Options{Workers: 1, Shard: shard.Shard{Index: i, Count: 3}})
		if part.Shard == nil || len(part.Cells) != len(shard.Shard{Index: i, Count: 3}.Indices(4)) {
			t.Fatalf("shard %d: %+v with %d cells", i, part.Shard, len(part.Cells))
		}
		parts = append(parts, part)
	}
	// Merge in any order.
	merged, err := Merge([]*Result{parts[2], parts[0], parts[1]})
	if err != nil {
		t.Fatal(err)
	}
	a, b := wallFree(t, whole), wallFree(t, merged)
	if !bytes.Equal(a, b) {
		t.Errorf("merged JSON differs from the whole sweep's:\n%s\n---\n%s", a, b)
	}
	// A missing shard leaves its cells not run; a doubled one is refused.
	m2, err := Merge(parts[:2])
	if err != nil || m2.NotRun != 1 || m2.Verdict != "fail" {
		t.Errorf("two of three shards: %v, %d not run", err, m2.NotRun)
	}
	if _, err := Merge([]*Result{parts[0], parts[0]}); err == nil {
		t.Error("a shard merged twice was accepted")
	}
	other := *parts[1]
	other.Metrics = []string{"mos"}
	if _, err := Merge([]*Result{parts[0], &other}); err == nil {
		t.Error("shards of different sweeps were merged")
	}
}

func wallFree(t *testing.T, r *Result) []byte {
	t.Helper()
	c := *r
	c.StartedAt, c.WallSeconds = "", 0
	js, err := EncodeJSON(&c)
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(r.WallSeconds) {
		t.Fatal("NaN wall")
	}
	return js
}

// Ctrl-C while a cell runs (at 2 s of its 6 s, in virtual time): that
// cell is not counted (its numbers would cover a third of the scenario),
// and no further cell starts.
func TestSweepInterruptedMidCell(t *testing.T) {
	stop := new(atomic.Bool)
	first := true
	opt := Options{Interrupt: stop, Bubble: func(f func()) {
		bubble.Run(t, func() {
			if !first {
				f()
				return
			}
			first = false
			go func() {
				time.Sleep(2 * time.Second)
				stop.Store(true)
			}()
			f()
		})
	}}
	r, err := Run(context.Background(), smallSweep(t), opt)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err %v, want ErrInterrupted", err)
	}
	for _, c := range r.Cells {
		if c.Status != StatusNotRun || len(c.Metrics) > 0 || len(c.Checks) > 0 {
			t.Errorf("cell %d: %s with %d values", c.Index, c.Status, len(c.Metrics))
		}
	}
	if r.NotRun != 4 || !r.Partial || !strings.Contains(r.Cells[0].Error, "interrupted after 2 s of 6 s") {
		t.Errorf("%d not run (partial %v); cell 0: %q", r.NotRun, r.Partial, r.Cells[0].Error)
	}
}
