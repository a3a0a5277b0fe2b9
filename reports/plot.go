package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/rtclab/rtclab/analysis"
)

// Plot is one chart of a report, rendered as PNG.
type Plot struct {
	// File is the chart's file name in the report directory, e.g.
	// "bitrate.png".
	File string
	// Title is the chart's title, e.g. "Received bitrate per stream".
	Title string
	// PNG is the encoded image.
	PNG []byte
	// Panel marks one of the small multiples a chart with many series is
	// split into; pages show panels side by side.
	Panel bool
}

// Chart size and resolution: 8 x 3.5 inches at 144 dpi is 1152 x 504
// pixels, sharp when shown 1000 pixels wide. The height grows when the
// legend needs more room.
const (
	plotWidth     = 8 * vg.Inch
	plotHeight    = 3.5 * vg.Inch
	plotDPI       = 144
	legendMaxName = 36 // runes of a series name shown in the legend
)

// chart says how series of one metric are drawn.
type chart struct {
	metric string
	file   string
	title  string
	yLabel string
	// scale multiplies every value (1 unless, e.g., fractions are shown
	// as percent).
	scale float64
	// fromZero pins the y axis at 0 for metrics that are never negative.
	fromZero bool
	// xLabel names the x axis; empty means scenario time.
	xLabel string
}

// knownCharts lists the metrics with a dedicated chart, in the order
// Plots renders them.
func knownCharts() []chart {
	return []chart{
		{metric: "bitrate_kbps", file: "bitrate.png", title: "Received bitrate per stream", yLabel: "bitrate (kbit/s)", scale: 1, fromZero: true},
		{metric: "loss_fraction", file: "loss.png", title: "Loss after repair, 1 s windows (LOSS % of the table)", yLabel: "loss (%)", scale: 100, fromZero: true},
		{metric: "rtt_ms", file: "rtt.png", title: "Round-trip time", yLabel: "RTT (ms)", scale: 1, fromZero: true},
		{metric: "simulcast_layer", file: "layer.png", title: "Simulcast layer received per subscriber (0 = lowest)", yLabel: "layer", scale: 1, fromZero: true},
		{metric: "fps", file: "fps.png", title: "Video frames shown per second (1 s window)", yLabel: "frames/s", scale: 1, fromZero: true},
		{metric: "freeze_ms", file: "freezes.png", title: "Video freezes (one ramp per freeze; its peak is its length)", yLabel: "frozen (ms)", scale: 1, fromZero: true},
		{metric: "sfu_estimate_kbps", file: "sfu-estimate.png", title: "SFU bandwidth estimate per subscriber (GCC)", yLabel: "estimate (kbit/s)", scale: 1, fromZero: true},
	}
}

// genericChart describes a metric without a dedicated chart.
func genericChart(metric string, series []analysis.Series) chart {
	name := metric
	if name == "" {
		name = "unnamed metric"
	}
	label := name
	if len(series) > 0 && series[0].Unit != "" {
		label = name + " (" + series[0].Unit + ")"
	}
	return chart{metric: metric, file: fileName(metric) + ".png", title: name, yLabel: label, scale: 1}
}

// Plots renders one chart per metric found in r.Series: bitrate_kbps,
// loss_fraction (as percent) and rtt_ms first, in that order, then every
// other metric in alphabetical order. Each series is one line; NaN and
// infinite samples are left out, leaving a gap, and a sample with no
// neighbour is drawn as a dot. A metric with more than maxPerChart series
// is drawn as small multiples, one chart per publisher (smallMultiples).
// A metric with more than maxLines series
// gets no line chart; the report then gets the publisher × subscriber
// matrix (StreamMatrix) instead. A report without series has no charts.
// The same report always renders to the same bytes.
func Plots(r *Report) ([]Plot, error) {
	if r == nil {
		return nil, nil
	}
	byMetric := map[string][]analysis.Series{}
	for _, s := range r.Series {
		byMetric[s.Metric] = append(byMetric[s.Metric], s)
	}
	var charts []chart
	for _, c := range knownCharts() {
		if _, ok := byMetric[c.metric]; ok {
			charts = append(charts, c)
			delete(byMetric, c.metric)
		}
	}
	var rest []string
	for m := range byMetric {
		if r.Bandwidth != nil && bweMetrics[m] {
			continue // drawn by bwePlots
		}
		rest = append(rest, m)
	}
	sort.Strings(rest)
	for _, m := range rest {
		charts = append(charts, genericChart(m, byMetric[m]))
	}

	xMax := r.Scenario.DurationS
	if !isFinite(xMax) || xMax < 0 {
		xMax = 0
	}
	used := map[string]bool{}
	var plots []Plot
	crowded := false
	for _, c := range charts {
		series := seriesOf(r.Series, c.metric)
		if len(series) > maxLines {
			crowded = true // shown as a matrix below
			continue
		}
		panels := smallMultiples(c, series)
		for _, p := range panels {
			p.c.file = uniqueFile(p.c.file, used)
			png, err := render(p.c, p.series, xMax)
			if err != nil {
				return nil, fmt.Errorf("plot %s: %w", p.c.metric, err)
			}
			plots = append(plots, Plot{File: p.c.file, Title: p.c.title, PNG: png, Panel: len(panels) > 1})
		}
	}
	if crowded {
		png, err := StreamMatrix(r)
		if err != nil {
			return nil, err
		}
		if png != nil {
			plots = append(plots, Plot{File: uniqueFile(MatrixFile, used), Title: "Publisher × subscriber matrix: received bitrate and freezes", PNG: png})
		}
	}
	bwe, err := bwePlots(r)
	if err != nil {
		return nil, err
	}
	return append(plots, bwe...), nil
}

func seriesOf(all []analysis.Series, metric string) []analysis.Series {
	var out []analysis.Series
	for _, s := range all {
		if s.Metric == metric {
			out = append(out, s)
		}
	}
	return out
}

// render draws one chart with its legend to the right of the data.
func render(c chart, series []analysis.Series, xMax float64) (png []byte, err error) {
	// gonum/plot panics on some inputs it cannot draw; a report must not
	// take the program down, so such a panic becomes an error.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("render: %v", p)
		}
	}()

	xLabel := c.xLabel
	if xLabel == "" {
		xLabel = "scenario time (s)"
	}
	p := newPlot(c.title, xLabel, c.yLabel)
	legend := newLegend()

	for i, s := range series {
		style := lineStyle(i)
		dot := draw.GlyphStyle{Color: style.Color, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
		var thumb plot.Thumbnailer
		for _, seg := range segments(s.Points, c.scale) {
			if len(seg) == 1 {
				sc, err := plotter.NewScatter(seg)
				if err != nil {
					return nil, err
				}
				sc.GlyphStyle = dot
				p.Add(sc)
				if thumb == nil {
					thumb = sc
				}
				continue
			}
			l, err := plotter.NewLine(seg)
			if err != nil {
				return nil, err
			}
			l.LineStyle = style
			p.Add(l)
			if _, isLine := thumb.(*plotter.Line); !isLine {
				thumb = l
			}
		}
		name := legendName(s.Name, c.metric)
		if thumb == nil {
			name += " (no data)"
			thumb = &plotter.Line{LineStyle: style}
		}
		legend.Add(name, thumb)
	}
	setRanges(p, c, xMax)

	return pngWithLegend(p, legend, c.title, len(series) > 0)
}

// setRanges fixes the axes: x from 0 to the end of the scenario (so every
// chart of a report shares it), y with a little headroom, and a sensible
// range when there is no data or only a flat line.
func setRanges(p *plot.Plot, c chart, xMax float64) {
	hasData := !math.IsInf(p.Y.Min, 1)
	if !hasData {
		p.Y.Min, p.Y.Max = 0, 1
	}
	if p.X.Max < xMax || !hasData {
		p.X.Max = math.Max(xMax, p.X.Max)
	}
	if p.X.Min > 0 || !hasData {
		p.X.Min = 0
	}
	if p.X.Max <= p.X.Min {
		p.X.Max = p.X.Min + 1
	}
	if c.fromZero && p.Y.Min > 0 {
		p.Y.Min = 0
	}
	if span := p.Y.Max - p.Y.Min; span > 0 {
		p.Y.Max += span * 0.05
	} else {
		p.Y.Max = p.Y.Min + math.Max(1, math.Abs(p.Y.Min)*0.1)
	}
}

// plainTicks places ticks like plot.DefaultTicks but labels them without
// padding zeros: "50" rather than "50.00".
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			rounded, _ := strconv.ParseFloat(strconv.FormatFloat(t.Value, 'g', 6, 64), 64)
			ticks[i].Label = strconv.FormatFloat(rounded, 'f', -1, 64)
		}
	}
	return ticks
}

// sans is Liberation Sans, which gonum/plot embeds, so charts look the
// same on every machine.
// newPlot returns a plot in the reports' house style: titled, labelled,
// plain ticks, a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(14, stdfont.WeightBold)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(11, stdfont.WeightNormal)
		a.Tick.Label.Font = sans(10, stdfont.WeightNormal)
		a.Tick.Marker = plainTicks{}
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	p.Add(grid)
	return p
}

// newLegend returns a legend in the reports' house style, drawn outside
// the plot by the caller.
func newLegend() plot.Legend {
	legend := plot.NewLegend()
	legend.TextStyle.Font = sans(10, stdfont.WeightNormal)
	legend.Top, legend.Left = true, true
	legend.ThumbnailWidth = vg.Points(28)
	legend.Padding = vg.Points(3)
	return legend
}

func sans(points float64, weight stdfont.Weight) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Weight: weight, Size: vg.Points(points)}
}

// segments splits points at non-finite samples into runs of finite
// (t, v*scale) pairs, so a missing sample leaves a gap in the line.
func segments(points []analysis.Point, scale float64) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for _, pt := range points {
		v := pt.V * scale
		if !isFinite(pt.T) || !isFinite(v) {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: pt.T, Y: v})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// lineStyle gives series i its look. Neighbouring series differ in both
// colour and dash; 7 colours and 4 dash patterns make 28 distinct looks.
func lineStyle(i int) draw.LineStyle {
	colors := []color.RGBA{ // Okabe-Ito, readable for colour-blind eyes
		{0x00, 0x72, 0xB2, 0xFF}, // blue
		{0xE6, 0x9F, 0x00, 0xFF}, // orange
		{0x00, 0x9E, 0x73, 0xFF}, // bluish green
		{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
		{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
		{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
		{0x00, 0x00, 0x00, 0xFF}, // black
	}
	dashes := [][]vg.Length{
		nil,
		{vg.Points(7), vg.Points(3)},
		{vg.Points(2), vg.Points(2)},
		{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
	}
	return draw.LineStyle{
		Color:  colors[i%len(colors)],
		Width:  vg.Points(1.6),
		Dashes: dashes[i%len(dashes)],
	}
}

// legendName is how a series appears in the legend. A leading word that
// repeats the metric ("bitrate alice->bob video" on the bitrate chart) is
// dropped, and a name that would make the legend too wide loses its
// middle, where names of related streams tend to agree.
func legendName(name, metric string) string {
	stem, _, _ := strings.Cut(metric, "_")
	if rest, ok := strings.CutPrefix(name, stem+" "); ok && stem != "" && strings.TrimSpace(rest) != "" {
		name = rest
	}
	if name == "" {
		return "(unnamed)"
	}
	r := []rune(name)
	if len(r) <= legendMaxName {
		return name
	}
	head := (legendMaxName - 1) / 2
	tail := legendMaxName - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// fileName turns a metric into a safe file name stem: lower case letters,
// digits, '_' and '-'.
func fileName(metric string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(metric) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "metric"
	}
	return b.String()
}

// uniqueFile returns name, or name with a "-2", "-3"... suffix when an
// earlier chart already took it.
func uniqueFile(name string, used map[string]bool) string {
	stem, ext := strings.TrimSuffix(name, ".png"), ".png"
	out := name
	for n := 2; used[out]; n++ {
		out = fmt.Sprintf("%s-%d%s", stem, n, ext)
	}
	used[out] = true
	return out
}

// pngWithLegend lays p out in the house style, its legend at the right
// (none when withLegend is false), grows the height when the legend needs
// it, and encodes a PNG: every line chart of the reports ends here.
func pngWithLegend(p *plot.Plot, legend plot.Legend, title string, withLegend bool) ([]byte, error) {
	w, h := plotWidth, plotHeight
	lr := legend.Rectangle(draw.Canvas{}) // only the size is used
	legendW, legendH := lr.Max.X-lr.Min.X, lr.Max.Y-lr.Min.Y
	top := p.Title.TextStyle.Height(title) + p.Title.Padding + vg.Points(8)
	if need := legendH + top + vg.Points(48); need > h {
		h = need
	}
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI))
	canvas := draw.Crop(draw.New(img), vg.Points(6), -vg.Points(10), vg.Points(6), -vg.Points(8))
	gap := vg.Points(14)
	if !withLegend {
		legendW, gap = 0, 0
	}
	p.Draw(draw.Crop(canvas, 0, -(legendW + gap), 0, 0))
	legend.Draw(draw.Crop(canvas, canvas.Max.X-canvas.Min.X-legendW, 0, 0, -top))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), nil
}
