package probes

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/rtclab/rtclab/analysis"
)

// Recorder keeps named time series and events of one run. It is safe for
// concurrent use.
type Recorder struct {
	start  time.Time
	mu     sync.Mutex
	series map[string]*analysis.Series
	order  []string
	events []analysis.Event
	sink   io.Writer
	enc    *json.Encoder
}

// NewRecorder starts recording at start (scenario time zero). Events are
// also written to sink as JSON Lines when it is not nil.
func NewRecorder(start time.Time, sink io.Writer) *Recorder {
	r := &Recorder{start: start, series: map[string]*analysis.Series{}, sink: sink}
	if sink != nil {
		r.enc = json.NewEncoder(sink)
	}
	return r
}

// Elapsed is the scenario time of now, in seconds.
func (r *Recorder) Elapsed(now time.Time) float64 {
	return now.Sub(r.start).Seconds()
}

// Sample appends v at time now to the series name (created on first use).
func (r *Recorder) Sample(now time.Time, name, metric, unit string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.series[name]
	if s == nil {
		s = &analysis.Series{Name: name, Metric: metric, Unit: unit}
		r.series[name] = s
		r.order = append(r.order, name)
	}
	s.Points = append(s.Points, analysis.Point{T: round3(r.Elapsed(now)), V: v})
}

// Event records and streams one event.
func (r *Recorder) Event(now time.Time, source, kind, detail string) {
	e := analysis.Event{T: round3(r.Elapsed(now)), Source: source, Kind: kind, Detail: detail}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	if r.enc != nil {
		_ = r.enc.Encode(e) // a broken sink must not stop the run
	}
}

// Series returns a copy of every series in creation order.
func (r *Recorder) Series() []analysis.Series {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]analysis.Series, 0, len(r.order))
	for _, name := range r.order {
		s := *r.series[name]
		s.Points = append([]analysis.Point(nil), s.Points...)
		out = append(out, s)
	}
	return out
}

// Events returns a copy of every event in order.
func (r *Recorder) Events() []analysis.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]analysis.Event(nil), r.events...)
}

func round3(x float64) float64 {
	return float64(int64(x*1000+0.5)) / 1000
}
