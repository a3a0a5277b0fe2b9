package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The charts of a sweep (rtclab sweep): a metric against one varied field
// (a line per series) or two (a grid of coloured cells), in the house
// style of the run reports' charts.

// Line is one series of a LineChart: Y[i] at X[i]; a NaN Y leaves a gap.
type Line struct {
	Name string
	X, Y []float64
}

// LineChart draws lines of y against x with the legend to the right.
// xTicks, when set, labels x = 0, 1, ... (a field whose values are not
// numbers); the x axis otherwise spans the data.
func LineChart(title, xLabel, yLabel string, xTicks []string, lines []Line) (png []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("line chart: %v", p)
		}
	}()
	p := newPlot(title, xLabel, yLabel)
	if xTicks != nil {
		p.X.Tick.Marker = labelTicks(xTicks)
	}
	legend := newLegend()
	for i, l := range lines {
		style := lineStyle(i)
		var run, all plotter.XYs
		flush := func() error {
			if len(run) > 1 {
				ln, err := plotter.NewLine(run)
				if err != nil {
					return err
				}
				ln.LineStyle = style
				p.Add(ln)
			}
			run = nil
			return nil
		}
		for k := range l.X {
			if k >= len(l.Y) || !isFinite(l.Y[k]) || !isFinite(l.X[k]) {
				if err := flush(); err != nil {
					return nil, err
				}
				continue
			}
			run = append(run, plotter.XY{X: l.X[k], Y: l.Y[k]})
			all = append(all, plotter.XY{X: l.X[k], Y: l.Y[k]})
		}
		if err := flush(); err != nil {
			return nil, err
		}
		thumb := &plotter.Line{LineStyle: style}
		name := legendName(l.Name, "")
		if len(all) == 0 {
			name += " (no data)"
		} else {
			// A dot on every measured cell: a sweep has few points.
			sc, err := plotter.NewScatter(all)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: style.Color, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			p.Add(sc)
		}
		legend.Add(name, thumb)
	}
	if math.IsInf(p.Y.Min, 1) {
		p.Y.Min, p.Y.Max = 0, 1
	}
	if p.Y.Min > 0 {
		p.Y.Min = 0
	}
	if span := p.Y.Max - p.Y.Min; span > 0 {
		p.Y.Max += span * 0.05
	} else {
		p.Y.Max = p.Y.Min + math.Max(1, math.Abs(p.Y.Min)*0.1)
	}
	if p.X.Max <= p.X.Min {
		p.X.Min, p.X.Max = p.X.Min-0.5, p.X.Max+0.5
	}

	return pngWithLegend(p, legend, title, len(lines) > 0)
}

// labelTicks puts one label at each integer x.
type labelTicks []string

func (l labelTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for i, s := range l {
		if float64(i) >= lo && float64(i) <= hi {
			out = append(out, plot.Tick{Value: float64(i), Label: s})
		}
	}
	return out
}

// GridPanel is one panel of a GridChart: Values[row][col], NaN blank.
type GridPanel struct {
	Title  string
	Values [][]float64
	// HighIsBad runs the colour ramp from green (low) to red (high).
	HighIsBad bool
}

// GridChart draws each panel as a grid of coloured cells, rows and
// columns the values of two varied fields, each cell labelled with its
// value, two panels side by side.
func GridChart(title, rowName, colName string, rows, cols []string, panels []GridPanel) (png []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("grid chart: %v", p)
		}
	}()
	if len(rows) == 0 || len(cols) == 0 || len(panels) == 0 {
		return nil, fmt.Errorf("grid chart: nothing to draw")
	}
	cell := math.Max(0.3, math.Min(0.7, 7.0/float64(max(len(cols), 1))))
	labelW, labelH, titleH, pad, barH := 1.0, 0.6, 0.4, 0.3, 0.55
	perRow := min(len(panels), 2)
	panelW := labelW + float64(len(cols))*cell + pad
	panelH := titleH + labelH + float64(len(rows))*cell + barH + pad
	nRows := (len(panels) + perRow - 1) / perRow
	in := func(x float64) vg.Length { return vg.Length(x) * vg.Inch }
	w, h := in(float64(perRow)*panelW+pad), in(float64(nRows)*panelH+0.6)
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI))
	dc := draw.New(img)
	dc.FillPolygon(color.White, box(0, 0, w, h))
	text := func(s string, x, y vg.Length, size float64, weight stdfont.Weight, xa draw.XAlignment, rot float64) {
		dc.FillText(draw.TextStyle{Color: color.Black, Font: sans(size, weight), XAlign: xa, YAlign: draw.YCenter, Rotation: rot, Handler: plot.DefaultTextHandler}, vg.Point{X: x, Y: y}, s)
	}
	text(title, in(pad), h-in(0.25), 13, stdfont.WeightBold, draw.XLeft, 0)
	labelSize := math.Max(6, math.Min(9, cell*72*0.35))
	for pi, panel := range panels {
		x0 := in(pad + float64(pi%perRow)*panelW)
		top := h - in(0.6+float64(pi/perRow)*panelH)
		text(panel.Title, x0, top-in(titleH/2), 11, stdfont.WeightBold, draw.XLeft, 0)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range panel.Values {
			for _, v := range r {
				if isFinite(v) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
		switch {
		case math.IsInf(lo, 1):
			lo, hi = 0, 1
		case hi == lo && panel.HighIsBad:
			hi = lo + 1 // a flat panel is all good, not all bad
		case hi == lo:
			lo = hi - 1
		}
		gridTop := top - in(titleH+labelH)
		gridLeft := x0 + in(labelW)
		text("rows: "+rowName+", columns: "+colName, x0, gridTop+in(labelH-0.1), 8.5, stdfont.WeightNormal, draw.XLeft, 0)
		for j, c := range cols {
			text(c, gridLeft+in((float64(j)+0.5)*cell), gridTop+in(0.12), labelSize, stdfont.WeightNormal, draw.XCenter, 0)
		}
		for i, r := range rows {
			y1 := gridTop - in(float64(i)*cell)
			text(r, gridLeft-in(0.05), y1-in(cell/2), labelSize, stdfont.WeightNormal, draw.XRight, 0)
			for j := range cols {
				x := gridLeft + in(float64(j)*cell)
				v := math.NaN()
				if i < len(panel.Values) && j < len(panel.Values[i]) {
					v = panel.Values[i][j]
				}
				fill := color.Color(color.Gray{Y: 235})
				label := "–"
				if isFinite(v) {
					fill = ramp(v, lo, hi, panel.HighIsBad)
					label = strconv.FormatFloat(v, 'g', 3, 64)
				}
				dc.FillPolygon(fill, box(x, y1-in(cell), x+in(cell), y1))
				dc.StrokeLines(draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}, box(x, y1-in(cell), x+in(cell), y1))
				text(label, x+in(cell/2), y1-in(cell/2), labelSize, stdfont.WeightNormal, draw.XCenter, 0)
			}
		}
		by := gridTop - in(float64(len(rows))*cell+0.3)
		const steps = 40
		bw := float64(len(cols)) * cell
		for k := range steps {
			v := lo + (hi-lo)*float64(k)/float64(steps-1)
			bx := gridLeft + in(bw*float64(k)/steps)
			dc.FillPolygon(ramp(v, lo, hi, panel.HighIsBad), box(bx, by-in(0.08), bx+in(bw/steps)+vg.Points(0.5), by+in(0.08)))
		}
		text(strconv.FormatFloat(lo, 'g', 4, 64), gridLeft, by-in(0.2), 8, stdfont.WeightNormal, draw.XLeft, 0)
		text(strconv.FormatFloat(hi, 'g', 4, 64), gridLeft+in(bw), by-in(0.2), 8, stdfont.WeightNormal, draw.XRight, 0)
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("grid chart png: %w", err)
	}
	return buf.Bytes(), nil
}
