package diagnose

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/rtclab/rtclab/probes/pathprobe"
)

// WriteHTML writes a self-contained HTML report: the verdict first, the
// findings, the tables of the text report, and SVG plots of RTT and jitter
// over time and of bandwidth over time.
func WriteHTML(w io.Writer, res Result) error {
	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		return err
	}
	rtt, err := rttPlot(res)
	if err != nil {
		return err
	}
	bw, err := bandwidthPlot(res)
	if err != nil {
		return err
	}
	return htmlTmpl.Execute(w, struct {
		R               Result
		Text            string
		RTTPlot, BWPlot template.HTML
		Thresholds      []Threshold
	}{res, text.String(), rtt, bw, Thresholds})
}

var htmlTmpl = template.Must(template.New("diagnose").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtclab diagnose: {{.R.Verdict.Level}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
.verdict{padding:1rem;border-radius:.5rem;font-size:1.2rem}
.good{background:#e6f4ea}.warn{background:#fef7e0}.bad{background:#fce8e6}.info{background:#eef}
li.good,li.warn,li.bad,li.info{list-style:none;margin:.3rem 0;padding:.4rem;border-radius:.3rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
pre{background:#f6f6f6;padding:1rem;overflow-x:auto;font-size:.85rem}
</style></head><body>
<div class="verdict {{.R.Verdict.Level}}"><b>{{.R.Verdict.Level}}</b> — {{.R.Verdict.Summary}}</div>
<p>{{.R.Target}} · {{.R.Started.Format "2006-01-02 15:04:05 UTC"}} · {{printf "%.1f" .R.DurationMs}} ms · schema {{.R.Schema}} · rtclab {{.R.Version}}</p>
<h2>Findings</h2><ul>
{{range .R.Findings}}<li class="{{.Level}}"><b>[{{.Level}}]</b> {{.Text}}{{if .Fix}}<br><i>To fix:</i> {{.Fix}}{{end}}</li>
{{end}}</ul>
{{if .R.Metrics}}<h2>Measurements</h2><table><tr><th>metric</th><th>path</th><th>value</th><th>band</th><th>rule</th></tr>
{{range .R.Metrics}}<tr class="{{.Level}}"><td>{{.Name}}</td><td>{{.Path}}</td><td>{{printf "%.2f" .Value}} {{.Unit}}</td><td>{{.Level}}</td><td>{{.Rule}}</td></tr>
{{end}}</table>{{end}}
{{if .RTTPlot}}<h2>RTT and jitter over time</h2>{{.RTTPlot}}{{end}}
{{if .BWPlot}}<h2>Bandwidth over time</h2>{{.BWPlot}}{{end}}
<h2>Details</h2><pre>{{.Text}}</pre>
<h2>Thresholds</h2><table><tr><th>metric</th><th>rule</th><th>source</th></tr>
{{range .Thresholds}}<tr><td>{{.Metric}}</td><td>{{.Describe}}</td><td>{{.Source}}</td></tr>
{{end}}</table>
</body></html>
`))

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
}

// rttPlot draws each measured path's RTT and its running RFC 3550 jitter.
func rttPlot(res Result) (template.HTML, error) {
	if len(res.Quality) == 0 {
		return "", nil
	}
	p := plot.New()
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "ms"
	p.Legend.Top = true
	i := 0
	for _, q := range res.Quality {
		if len(q.Ping.Samples) == 0 {
			continue
		}
		rtt := make(plotter.XYs, len(q.Ping.Samples))
		jit := make(plotter.XYs, len(q.Ping.Samples))
		j, prev := 0.0, math.NaN()
		for k, s := range q.Ping.Samples {
			if !math.IsNaN(prev) {
				j += (math.Abs(s.RTTMs-prev) - j) / 16
			}
			prev = s.RTTMs
			rtt[k] = plotter.XY{X: s.AtMs / 1000, Y: s.RTTMs}
			jit[k] = plotter.XY{X: s.AtMs / 1000, Y: j}
		}
		for _, series := range []struct {
			name string
			xys  plotter.XYs
			dash bool
		}{{"RTT " + string(q.Path), rtt, false}, {"jitter " + string(q.Path), jit, true}} {
			l, err := plotter.NewLine(series.xys)
			if err != nil {
				return "", fmt.Errorf("rtt plot: %w", err)
			}
			l.Color = palette[i%len(palette)]
			if series.dash {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			}
			p.Add(l)
			p.Legend.Add(series.name, l)
		}
		i++
	}
	return svg(p)
}

// bandwidthPlot draws upload and download throughput over time.
func bandwidthPlot(res Result) (template.HTML, error) {
	bw := res.Bandwidth
	if bw == nil || (len(bw.Up.Series) == 0 && len(bw.Down.Series) == 0) {
		return "", nil
	}
	p := plot.New()
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "Mbit/s"
	p.Legend.Top = true
	for i, s := range []struct {
		name   string
		series []rate
	}{{"up", rates(bw.Up.Series)}, {"down", rates(bw.Down.Series)}} {
		if len(s.series) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(s.series))
		for k, r := range s.series {
			xys[k] = plotter.XY{X: r.at / 1000, Y: r.mbps}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return "", fmt.Errorf("bandwidth plot: %w", err)
		}
		l.Color = palette[i]
		p.Add(l)
		p.Legend.Add(s.name+" ("+string(bw.Path)+")", l)
	}
	return svg(p)
}

type rate struct{ at, mbps float64 }

func svg(p *plot.Plot) (template.HTML, error) {
	wt, err := p.WriterTo(7*vg.Inch, 3*vg.Inch, "svg")
	if err != nil {
		return "", fmt.Errorf("plot: %w", err)
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return "", fmt.Errorf("plot: %w", err)
	}
	// The SVG is made here, from numbers: safe to inline.
	return template.HTML(b.String()), nil //nolint:gosec
}

func rates(in []pathprobe.Rate) []rate {
	out := make([]rate, len(in))
	for i, r := range in {
		out[i] = rate{r.AtMs, r.Mbps}
	}
	return out
}
