package matrix

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/shard"
)

// ErrNoBubble is returned by Run without Options.Bubble: cells run only in
// virtual time.
var ErrNoBubble = errors.New("matrix: Options.Bubble is required (cells run in virtual time)")

// ErrInterrupted is returned when Options.Interrupt stopped the grid.
var ErrInterrupted = errors.New("interrupted")

// Options are the optional parts of a grid run, and the bubble runner.
type Options struct {
	// Bubble runs f inside a testing/synctest bubble and returns when f
	// and every goroutine it started have finished (required).
	Bubble func(f func())
	// Workers is how many cells run at once, each in its own bubble;
	// 0 means 1.
	Workers int
	// Interrupt, when set to true, stops starting cells; the result is
	// marked partial.
	Interrupt *atomic.Bool
	// Progress, when set, is called after each cell, from one goroutine at
	// a time.
	Progress func(done, total int, c CellResult)
	// Tool is written into the result ("rtclab dev").
	Tool string
	// File names the matrix file the plan came from.
	File string
	// Shard, when set, runs only the cells whose index in Plan.Cells
	// mod Count is Index (rtclab merge puts the shards together).
	Shard shard.Shard
}

// Run runs every cell of p and compares it with its expectation. The
// result is never nil. A cell that cannot run is counted in Errors and
// fails the grid; it does not stop the others.
func Run(ctx context.Context, p Plan, opt Options) (*Result, error) {
	cells := p.Cells()
	res := &Result{
		Schema: Schema, Tool: opt.Tool, File: opt.File, Seed: p.Seed,
		CellSeconds: p.Duration.Seconds(), Clock: runner.ClockVirtual,
		NATs: []string{}, ICE: []string{}, Cells: []CellResult{},
	}
	for _, n := range p.NATs {
		res.NATs = append(res.NATs, n.Name)
	}
	for _, c := range p.ICE {
		res.ICE = append(res.ICE, string(c))
	}
	kernel := p.Backend == scenarios.BackendKernel
	if kernel {
		res.Clock, res.Backend = runner.ClockReal, p.Backend
	}
	if opt.Bubble == nil && !kernel {
		res.Verdict = "fail"
		return res, ErrNoBubble
	}
	workers := max(opt.Workers, 1)
	res.Workers = workers
	start := time.Now()
	res.StartedAt = start.UTC().Format(time.RFC3339)
	if opt.Shard.Active() {
		sh := opt.Shard
		res.Shard = &sh
	}
	todo := opt.Shard.Indices(len(cells))

	results := make([]*CellResult, len(cells))
	jobs := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				cr := runCell(p, cells[i], opt.Bubble)
				mu.Lock()
				results[i] = &cr
				done++
				if opt.Progress != nil {
					opt.Progress(done, len(todo), cr)
				}
				mu.Unlock()
			}
		}()
	}
	var stopErr error
feed:
	for n, i := range todo {
		if opt.Interrupt != nil && opt.Interrupt.Load() {
			stopErr = fmt.Errorf("stopped after %d of %d cells: %w", n, len(todo), ErrInterrupted)
			break
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			stopErr = fmt.Errorf("stopped after %d of %d cells: %w", n, len(todo), ctx.Err())
			break feed
		}
	}
	close(jobs)
	wg.Wait()

	for _, cr := range results {
		if cr != nil {
			res.Cells = append(res.Cells, *cr)
		}
	}
	res.WallSeconds = time.Since(start).Seconds()
	res.Partial = stopErr != nil
	res.tally()
	return res, stopErr
}

// tally counts the cells by status and sets the verdict.
func (r *Result) tally() {
	r.Matched, r.Deviations, r.Unexpected, r.Errors = 0, 0, 0, 0
	for _, cr := range r.Cells {
		switch cr.Status {
		case StatusError:
			r.Errors++
		case StatusExpected:
			r.Matched++
		case StatusDeviation:
			r.Deviations++
		default:
			r.Unexpected++
		}
	}
	r.Verdict = "pass"
	if r.Partial || r.Errors > 0 || r.Unexpected > 0 {
		r.Verdict = "fail"
	}
}

// runCell runs one cell in its own bubble.
func runCell(p Plan, c Cell, bubble func(func())) CellResult {
	exp := c.Expect()
	cr := CellResult{
		ICE: string(c.ICE), Row: c.Row.Name, Col: c.Col.Name,
		Expected: exp.Path, Rule: exp.Rule, Why: exp.Why, Path: Failed,
	}
	s, err := p.Scenario(c)
	if err == nil {
		var rep *reports.Report
		if s.Kernel() {
			// Namespaces and real sockets: real time, no bubble.
			rep, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockReal})
		} else {
			bubble(func() {
				rep, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual})
			})
		}
		if err == nil {
			fill(&cr, rep)
		}
	}
	if err != nil {
		cr.Error = err.Error()
	}
	cr.judge(c)
	return cr
}

// fill copies what a cell's report measured into cr.
func fill(cr *CellResult, rep *reports.Report) {
	for _, p := range rep.Participants {
		e := End{Connected: p.Connected, TimeToConnectMS: p.TimeToConnectMS, SelectedPair: p.SelectedPair}
		if p.Candidates != nil {
			e.Candidates = *p.Candidates
		}
		if p.RemoteCandidates != nil {
			e.RemoteCandidates = *p.RemoteCandidates
		}
		if p.ChecksSent != nil {
			e.ChecksSent = *p.ChecksSent
		}
		switch p.Name {
		case offerer:
			cr.Offerer = e
		case answerer:
			cr.Answerer = e
		}
	}
	cr.Path = Classify(cr.Offerer, cr.Answerer)
	cr.Connected = cr.Path != Failed
	if cr.Connected {
		cr.TimeToConnectMS = callSetup(rep)
	}
}

// callSetup is the time from both ends having joined to both being
// connected, in ms, from the run's events; nil when an event is missing.
func callSetup(rep *reports.Report) *float64 {
	joined := map[string]float64{}
	connected := map[string]float64{}
	for _, e := range rep.Events {
		switch {
		case e.Kind == "joined":
			if _, ok := joined[e.Source]; !ok {
				joined[e.Source] = e.T
			}
		case e.Kind == "connection-state" && strings.HasSuffix(e.Detail, ": connected"):
			if _, ok := connected[e.Source]; !ok {
				connected[e.Source] = e.T
			}
		}
	}
	var from, to float64
	for _, name := range []string{offerer, answerer} {
		j, ok1 := joined[name]
		c, ok2 := connected[name]
		if !ok1 || !ok2 {
			return nil
		}
		from, to = max(from, j), max(to, c)
	}
	ms := math.Round((to-from)*1000*10) / 10
	return &ms
}
