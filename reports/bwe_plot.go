package reports

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot/plotter"

	"github.com/rtclab/rtclab/analysis"
)

// Metrics of the series a bandwidth test case records. Plots draws them
// in the charts of bwePlots rather than one generic chart each.
var bweMetrics = map[string]bool{
	"capacity_kbps":  true,
	"estimate_kbps":  true,
	"send_kbps":      true,
	"receive_kbps":   true,
	"queue_delay_ms": true,
}

// bwePlots renders the charts of a bandwidth test case: the bottleneck
// capacity with, in turn, every media flow's bandwidth estimate, every
// flow's sending rate and its receive rate; the queueing delay over
// time; and the cumulative distribution of each flow's queueing delay.
// A report without Bandwidth has none.
func bwePlots(r *Report) ([]Plot, error) {
	if r == nil || r.Bandwidth == nil {
		return nil, nil
	}
	xMax := r.Scenario.DurationS
	capacity := seriesOf(r.Series, "capacity_kbps")
	var plots []Plot
	for _, c := range []chart{
		{metric: "estimate_kbps", file: "bwe-estimate.png", title: "Bandwidth estimate (GCC) per media flow, and capacity", yLabel: "kbit/s", scale: 1, fromZero: true},
		{metric: "send_kbps", file: "bwe-send.png", title: "Sending rate on the wire (1 s mean), and capacity", yLabel: "kbit/s", scale: 1, fromZero: true},
		{metric: "receive_kbps", file: "bwe-receive.png", title: "Receive rate on the wire (1 s mean), and capacity", yLabel: "kbit/s", scale: 1, fromZero: true},
		{metric: "queue_delay_ms", file: "bwe-queue-delay.png", title: "Queueing delay per flow (100 ms mean)", yLabel: "queueing delay (ms)", scale: 1, fromZero: true},
	} {
		series := seriesOf(r.Series, c.metric)
		if len(series) == 0 {
			continue
		}
		if c.metric == "queue_delay_ms" {
			// The legend names flows; "queue delay " says nothing here.
			named := make([]analysis.Series, len(series))
			for i, s := range series {
				named[i] = s
				named[i].Name = strings.TrimPrefix(s.Name, "queue delay ")
			}
			series = named
		} else {
			series = append(append([]analysis.Series(nil), capacity...), series...)
		}
		png, err := render(c, series, xMax)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", c.metric, err)
		}
		plots = append(plots, Plot{File: c.file, Title: c.title, PNG: png})
	}
	png, err := renderCDF(r.Bandwidth.Flows)
	if err != nil {
		return nil, fmt.Errorf("plot delay cdf: %w", err)
	}
	if png != nil {
		plots = append(plots, Plot{File: "bwe-delay-cdf.png", Title: "Distribution of queueing delay per flow", PNG: png})
	}
	return plots, nil
}

// renderCDF draws each flow's queueing-delay percentiles as a cumulative
// distribution: delay on x, share of packets at or below it on y.
func renderCDF(flows []BandwidthFlow) (png []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("render: %v", p)
		}
	}()
	title := "Distribution of queueing delay per flow"
	p := newPlot(title, "queueing delay (ms)", "packets at or below (%)")
	legend := newLegend()
	n := 0
	for _, f := range flows {
		if len(f.DelayCDFMS) < 2 {
			continue
		}
		xys := make(plotter.XYs, len(f.DelayCDFMS))
		for i, v := range f.DelayCDFMS {
			xys[i] = plotter.XY{X: v, Y: 100 * float64(i) / float64(len(f.DelayCDFMS)-1)}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		// Capacity takes style 0 in the time charts; flows keep the
		// same look here as there.
		l.LineStyle = lineStyle(n + 1)
		p.Add(l)
		legend.Add(legendName(f.Name, ""), l)
		n++
	}
	if n == 0 {
		return nil, nil
	}
	p.Y.Min, p.Y.Max = 0, 100
	if p.X.Min > 0 {
		p.X.Min = 0
	}
	if p.X.Max <= p.X.Min {
		p.X.Max = p.X.Min + 1
	}
	return pngWithLegend(p, legend, title, true)
}
