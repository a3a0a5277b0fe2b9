package sweep

import (
	"slices"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/shard"
)

// Schema is the value of Result.Schema for this version of sweep.json.
const Schema = "rtclab.sweep/v1"

// Cell statuses.
const (
	StatusPass   = "pass"    // ran to the end, every check passed
	StatusFail   = "fail"    // ran, and a check failed (or the run stopped early)
	StatusError  = "error"   // could not run
	StatusNotRun = "not-run" // interrupted (Ctrl-C) before or while it ran: no values
)

// Result is a sweep's outcome, sweep.json. It is plain data, built from
// cells only: a merge of shards recomputes it from their cells.
type Result struct {
	// Schema is always "rtclab.sweep/v1".
	Schema string `json:"schema"`
	// Tool names the program and its version, e.g. "rtclab dev".
	Tool string `json:"tool"`
	// Scenario is the base scenario's name; File where it came from.
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	// Clock is always "virtual": every cell runs in its own bubble.
	Clock string `json:"clock"`
	// Axes are the varied fields, the first varying slowest.
	Axes []Axis `json:"axes"`
	// Metrics are the metrics reduced per cell.
	Metrics []string `json:"metrics"`
	// Series are the columns of the table: one per metric and subject
	// ("freeze_count alice->bob video"), sorted by metric then subject.
	Series []SeriesKey `json:"series"`
	// Shard is set in one shard's output (--shard I/N): Cells then hold
	// only that shard's cells. Absent in a whole or merged sweep.
	Shard *shard.Shard `json:"shard,omitempty"`
	// Total is the number of cells of the whole sweep.
	Total int `json:"total"`
	// Cells are this output's cells by index; not-run cells included.
	Cells []Cell `json:"cells"`
	// Passed, Failed, Errors and NotRun count Cells by status.
	Passed int `json:"passed"`
	Failed int `json:"failed"`
	Errors int `json:"errors"`
	NotRun int `json:"not_run"`
	// Partial is true when a cell was not run (Ctrl-C).
	Partial bool `json:"partial"`
	// Verdict is "pass" when every cell ran and passed, else "fail".
	Verdict string `json:"verdict"`
	// StartedAt (RFC 3339) and WallSeconds are the wall clock of the
	// sweep (of a merge: the earliest start and the longest shard); the
	// only fields that differ between repeats.
	StartedAt   string  `json:"started_at"`
	WallSeconds float64 `json:"wall_seconds"`
}

// SeriesKey names one column of the table.
type SeriesKey struct {
	// Metric is the metric's name; Subject the participant, stream
	// ("alice->bob video"), flow or link it is a value of.
	Metric  string `json:"metric"`
	Subject string `json:"subject"`
}

// Cell is one cell's outcome.
type Cell struct {
	// Index is the cell's place in the whole sweep (the first axis varies
	// slowest); shards take cells by Index mod N.
	Index int `json:"index"`
	// Values are the axes' values in this cell.
	Values []string `json:"values"`
	// Status is pass, fail, error or not-run.
	Status string `json:"status"`
	// Error says why the cell failed to run or stopped early.
	Error string `json:"error,omitempty"`
	// Partial is true when the run stopped before the scenario's end.
	Partial bool `json:"partial,omitempty"`
	// Values of the metrics, one per subject, in the report's order.
	Metrics []MetricValue `json:"metrics,omitempty"`
	// Checks are the scenario's expectations, evaluated on this cell.
	Checks []analysis.Check `json:"checks,omitempty"`
}

// MetricValue is one value of a metric in a cell.
type MetricValue struct {
	Metric  string `json:"metric"`
	Subject string `json:"subject"`
	// Value is null when it could not be measured.
	Value *float64 `json:"value"`
}

// Value returns the cell's value of a series, or nil.
func (c Cell) Value(k SeriesKey) *float64 {
	for _, m := range c.Metrics {
		if m.Metric == k.Metric && m.Subject == k.Subject {
			return m.Value
		}
	}
	return nil
}

// finish recomputes everything that is derived from the cells: their
// order, the series, the counts and the verdict.
func (r *Result) finish() {
	slices.SortFunc(r.Cells, func(a, b Cell) int { return a.Index - b.Index })
	r.Series = []SeriesKey{}
	r.Passed, r.Failed, r.Errors, r.NotRun = 0, 0, 0, 0
	for _, c := range r.Cells {
		for _, m := range c.Metrics {
			k := SeriesKey{m.Metric, m.Subject}
			if !slices.Contains(r.Series, k) {
				r.Series = append(r.Series, k)
			}
		}
		switch c.Status {
		case StatusPass:
			r.Passed++
		case StatusFail:
			r.Failed++
		case StatusError:
			r.Errors++
		default:
			r.NotRun++
		}
	}
	order := map[string]int{}
	for i, m := range r.Metrics {
		order[m] = i
	}
	slices.SortStableFunc(r.Series, func(a, b SeriesKey) int {
		if d := order[a.Metric] - order[b.Metric]; d != 0 {
			return d
		}
		switch {
		case a.Subject < b.Subject:
			return -1
		case a.Subject > b.Subject:
			return 1
		}
		return 0
	})
	r.Partial = r.NotRun > 0
	r.Verdict = "pass"
	if r.Partial || r.Failed > 0 || r.Errors > 0 {
		r.Verdict = "fail"
	}
}
