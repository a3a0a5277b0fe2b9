package sweep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/shard"
)

// ErrNoBubble is returned by Run without Options.Bubble: cells run only
// in virtual time.
var ErrNoBubble = errors.New("sweep: Options.Bubble is required (cells run in virtual time)")

// ErrInterrupted is returned when Options.Interrupt or the context
// stopped the sweep; the cells not started are marked not run.
var ErrInterrupted = errors.New("interrupted")

// Options are the optional parts of a sweep, and the bubble runner.
type Options struct {
	// Bubble runs f inside a testing/synctest bubble and returns when f
	// and every goroutine it started have finished (required).
	Bubble func(f func())
	// Workers is how many cells run at once, each in its own bubble;
	// 0 means 1.
	Workers int
	// Shard, when set, runs only the cells with Index mod Count == Index.
	Shard shard.Shard
	// Interrupt, when set to true, stops starting cells and stops the
	// running ones early (their partial results are kept).
	Interrupt *atomic.Bool
	// Progress, when set, is called after each cell, from one goroutine
	// at a time.
	Progress func(done, total int, c Cell)
	// Tool is written into the result ("rtclab dev").
	Tool string
	// OnReport, when set, receives each cell's full report (from one
	// goroutine at a time), e.g. to write it to disk.
	OnReport func(c Cell, rep *reports.Report)
	// Checkpoint, when set, receives after each cell the result so far
	// (the cells to come marked not run), from one goroutine at a time:
	// written to disk, a killed sweep still leaves a readable result.
	Checkpoint func(r *Result)
}

// Run runs the plan's cells (of Options.Shard) and returns the result,
// never nil. A cell that cannot run is a cell with status error; it does
// not stop the others.
func Run(ctx context.Context, p *Plan, opt Options) (*Result, error) {
	res := &Result{
		Schema: Schema, Tool: opt.Tool, Scenario: p.Scenario, File: p.File,
		Clock: runner.ClockVirtual, Axes: p.Axes, Metrics: p.Metrics,
		Total: len(p.Cells), Cells: []Cell{},
	}
	if res.Axes == nil {
		res.Axes = []Axis{}
	}
	if opt.Shard.Active() {
		s := opt.Shard
		res.Shard = &s
	}
	start := time.Now()
	res.StartedAt = start.UTC().Format(time.RFC3339)
	var todo []CellPlan
	for _, c := range p.Cells {
		if opt.Shard.Has(c.Index) {
			todo = append(todo, c)
		}
	}
	if opt.Bubble == nil {
		res.finish()
		res.Verdict = "fail"
		return res, ErrNoBubble
	}
	results := make([]*Cell, len(todo))
	jobs := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for range max(opt.Workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if opt.Interrupt != nil && opt.Interrupt.Load() {
					continue // taken just before Ctrl-C: not run
				}
				c, rep := runCell(p, todo[i], opt)
				mu.Lock()
				results[i] = &c
				done++
				if opt.OnReport != nil && rep != nil {
					opt.OnReport(c, rep)
				}
				if opt.Progress != nil {
					opt.Progress(done, len(todo), c)
				}
				if opt.Checkpoint != nil {
					opt.Checkpoint(collect(res, todo, results))
				}
				mu.Unlock()
			}
		}()
	}
	var stopErr error
feed:
	for i := range todo {
		if opt.Interrupt != nil && opt.Interrupt.Load() {
			stopErr = fmt.Errorf("stopped after %d of %d cells: %w", i, len(todo), ErrInterrupted)
			break
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			stopErr = fmt.Errorf("stopped after %d of %d cells: %w (%w)", i, len(todo), ErrInterrupted, ctx.Err())
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	res = collect(res, todo, results)
	res.WallSeconds = math.Round(time.Since(start).Seconds()*1000) / 1000
	return res, stopErr
}

// collect is base with the cells of todo: those with a result, the rest
// not run.
func collect(base *Result, todo []CellPlan, results []*Cell) *Result {
	r := *base
	r.Cells = make([]Cell, 0, len(todo))
	for i, c := range results {
		if c == nil {
			c = &Cell{Index: todo[i].Index, Values: todo[i].Values, Status: StatusNotRun}
		}
		r.Cells = append(r.Cells, *c)
	}
	r.finish()
	return &r
}

// reached is the scenario time a run got to: its last sample.
func reached(rep *reports.Report) float64 {
	t := 0.0
	for _, s := range rep.Series {
		if n := len(s.Points); n > 0 {
			t = max(t, s.Points[n-1].T)
		}
	}
	return t
}

// runCell runs one cell in its own bubble and reduces its report.
func runCell(p *Plan, cp CellPlan, opt Options) (Cell, *reports.Report) {
	c := Cell{Index: cp.Index, Values: cp.Values}
	var (
		rep *reports.Report
		err error
	)
	opt.Bubble(func() {
		rep, err = runner.Run(context.Background(), cp.Scenario, runner.Options{Clock: runner.ClockVirtual, Interrupt: opt.Interrupt, Tool: opt.Tool})
	})
	if rep == nil {
		c.Status = StatusError
		c.Error = fmt.Sprint(err)
		return c, nil
	}
	if errors.Is(err, runner.ErrInterrupted) {
		// Cut short by Ctrl-C: its numbers cover part of the scenario
		// and would read as a measurement of the whole; not counted.
		c.Status = StatusNotRun
		c.Error = fmt.Sprintf("interrupted after %.0f s of %.0f s of scenario time", reached(rep), rep.Scenario.DurationS)
		return c, nil
	}
	c.Partial = rep.Partial
	c.Error = rep.Error
	c.Checks = rep.Checks
	for _, m := range p.Metrics {
		for _, v := range runner.MetricValues(rep, m) {
			mv := MetricValue{Metric: m, Subject: v.Subject}
			if !math.IsNaN(v.Value) && !math.IsInf(v.Value, 0) {
				x := v.Value
				mv.Value = &x
			}
			c.Metrics = append(c.Metrics, mv)
		}
	}
	c.Status = StatusPass
	if rep.Verdict != "pass" || err != nil {
		c.Status = StatusFail
	}
	for _, ch := range c.Checks {
		if ch.Failed() {
			c.Status = StatusFail
		}
	}
	return c, rep
}
