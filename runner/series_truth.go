package runner

import (
	"math"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
)

// truthSeries redraws the series that must agree with the stream table
// from the same logs the table came from, once the call is over: the loss
// series (1 s windows by send time, loss after repair until the end of
// the call: analysis.LossPerWindow) and the freeze timeline (each freeze
// of the video table as one ramp: analysis.FreezeRamps). Live samples
// could not know what was still to be repaired, or that the picture would
// never move again.
func (r *run) truthSeries(series []analysis.Series, streams []reports.Stream, snap *snapshot) []analysis.Series {
	if snap == nil || r.sampler == nil {
		return series
	}
	var ends []time.Time
	var ts []float64
	for t := window * sampleEvery; t <= r.ended; t += sampleEvery {
		ends = append(ends, r.start.Add(t))
		ts = append(ts, t.Seconds())
	}
	for _, st := range r.sampler.order {
		v := snap.logs[st.rx]
		if v.hop.Len() == 0 {
			continue
		}
		logs := r.reader.read(v)
		s := analysis.Series{Name: "loss " + st.name, Metric: "loss_fraction", Unit: "fraction"}
		for i, v := range analysis.LossPerWindow(logs.arrivals, logs.hop, ends, window*sampleEvery) {
			if !math.IsNaN(v) {
				s.Points = append(s.Points, analysis.Point{T: round(ts[i], 3), V: round(v, 4)})
			}
		}
		series = append(series, s)
	}
	for _, st := range streams {
		if st.Video == nil {
			continue
		}
		freezes := make([]analysis.Freeze, len(st.Video.Freezes))
		for i, f := range st.Video.Freezes {
			freezes[i] = analysis.Freeze{Start: time.Duration(f.StartS * float64(time.Second)), Duration: time.Duration(f.DurationMS * float64(time.Millisecond))}
		}
		series = append(series, analysis.Series{
			Name: "frozen " + st.From + "->" + st.To + " video", Metric: "freeze_ms", Unit: "ms",
			Points: analysis.FreezeRamps(freezes, r.ended),
		})
	}
	return series
}
