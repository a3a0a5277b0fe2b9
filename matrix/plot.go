package matrix

import (
	"bytes"
	"fmt"
	"image/color"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/rtclab/rtclab/reports"
)

// pathColours colour the heatmap's cells, from the most direct path (green)
// to the relay (amber) and failure (grey); colour-blind safe enough that
// every cell also names its path in text.
var pathColours = map[Path]color.RGBA{
	Host:     {0x1a, 0x98, 0x50, 0xff},
	Srflx:    {0x66, 0xbd, 0x63, 0xff},
	Prflx:    {0x7f, 0xc9, 0xd9, 0xff},
	Relay:    {0xfd, 0xae, 0x61, 0xff},
	RelayTCP: {0xd9, 0x6c, 0x2a, 0xff},
	Failed:   {0xbd, 0xbd, 0xbd, 0xff},
}

// Heatmap geometry, in inches at heatmapDPI.
const (
	heatmapDPI = 110
	cellW      = 1.05
	cellH      = 0.62
	rowLabelW  = 1.75
	colLabelH  = 0.55
	titleH     = 0.45
	panelPad   = 0.35
	legendH    = 0.95
)

// Heatmap renders the grid as a PNG: one panel per ICE configuration
// (two per row), rows the offerer's NAT, columns the answerer's, the
// colour the path and the text the path and time to connect. A known
// pion deviation is marked "*", an unexpected cell "!" with a red frame.
func Heatmap(r *Result) (png []byte, err error) {
	// gonum/plot panics on some inputs it cannot draw; a report must not
	// take the program down, so such a panic becomes an error.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("heatmap: %v", p)
		}
	}()
	n := len(r.NATs)
	panels := len(r.ICE)
	if n == 0 || panels == 0 {
		return nil, fmt.Errorf("heatmap: empty grid")
	}
	cols := min(panels, 2)
	rows := (panels + cols - 1) / cols
	panelW := rowLabelW + float64(n)*cellW + panelPad
	panelH := titleH + colLabelH + float64(n)*cellH + panelPad
	w := vg.Length(float64(cols)*panelW+panelPad) * vg.Inch
	h := vg.Length(float64(rows)*panelH+legendH+0.5) * vg.Inch

	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(heatmapDPI))
	dc := draw.New(img)
	dc.FillPolygon(color.White, rect(0, 0, w, h))

	text := func(s string, x, y vg.Length, size float64, weight stdfont.Weight, xa draw.XAlignment, c color.Color) {
		dc.FillText(draw.TextStyle{Color: c, Font: reports.HouseFont(size, weight), XAlign: xa, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}, vg.Point{X: x, Y: y}, s)
	}
	in := func(x float64) vg.Length { return vg.Length(x) * vg.Inch }

	title := fmt.Sprintf("Connectivity matrix: offerer NAT (rows) calling answerer NAT (columns), seed %d, %.0f s per cell", r.Seed, r.CellSeconds)
	text(title, in(panelPad), h-in(0.3), 14, stdfont.WeightBold, draw.XLeft, color.Black)

	cells := map[string]CellResult{}
	for _, c := range r.Cells {
		cells[c.ICE+"|"+c.Row+"|"+c.Col] = c
	}
	for pi, ice := range r.ICE {
		x0 := in(panelPad + float64(pi%cols)*panelW)
		top := h - in(0.55+float64(pi/cols)*panelH)
		text(ICEConfig(ice).Describe(), x0, top-in(titleH/2), 13, stdfont.WeightBold, draw.XLeft, color.Black)
		gridTop := top - in(titleH+colLabelH)
		gridLeft := x0 + in(rowLabelW)
		for j, name := range r.NATs {
			cx := gridLeft + in((float64(j)+0.5)*cellW)
			l1, l2 := split(name)
			text(l1, cx, gridTop+in(colLabelH*0.68), 9.5, stdfont.WeightNormal, draw.XCenter, color.Black)
			text(l2, cx, gridTop+in(colLabelH*0.28), 9.5, stdfont.WeightNormal, draw.XCenter, color.Black)
		}
		for i, row := range r.NATs {
			y1 := gridTop - in(float64(i)*cellH)
			y0 := y1 - in(cellH)
			text(row, gridLeft-in(0.08), (y0+y1)/2, 10, stdfont.WeightNormal, draw.XRight, color.Black)
			for j, col := range r.NATs {
				x := gridLeft + in(float64(j)*cellW)
				c, ok := cells[ice+"|"+row+"|"+col]
				fill := color.RGBA{0xff, 0xff, 0xff, 0xff}
				label, sub := "not run", ""
				if ok {
					fill = pathColours[c.Path]
					label, sub = cellText(c, r.CellSeconds)
				}
				dc.FillPolygon(fill, rect(x, y0, x+in(cellW), y1))
				edge := draw.LineStyle{Color: color.White, Width: vg.Points(1.5)}
				if ok && (c.Status == StatusUnexpected || c.Status == StatusError) {
					edge = draw.LineStyle{Color: color.RGBA{0xd7, 0x19, 0x1c, 0xff}, Width: vg.Points(3)}
				}
				dc.StrokeLines(edge, rect(x, y0, x+in(cellW), y1))
				mid := x + in(cellW/2)
				text(label, mid, y0+in(cellH*0.64), 10, stdfont.WeightBold, draw.XCenter, color.Black)
				text(sub, mid, y0+in(cellH*0.3), 9, stdfont.WeightNormal, draw.XCenter, color.Black)
			}
		}
	}

	// Legend.
	ly := in(legendH*0.62 + 0.1)
	lx := in(panelPad)
	for _, p := range Paths {
		dc.FillPolygon(pathColours[p], rect(lx, ly-in(0.11), lx+in(0.3), ly+in(0.11)))
		text(pathLabel(p), lx+in(0.38), ly, 10.5, stdfont.WeightNormal, draw.XLeft, color.Black)
		lx += in(1.85)
	}
	note := "In each cell: the path, then the call setup time (both joined to both connected, scenario time). " +
		"* a known pion behaviour the RFC model does not predict (see report.html); ! unexpected (red frame): fails the run."
	text(note, in(panelPad), in(0.22), 10, stdfont.WeightNormal, draw.XLeft, color.Gray{Y: 40})

	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("heatmap png: %w", err)
	}
	return buf.Bytes(), nil
}

// cellText is a cell's two lines: the path with its status mark, and the
// time to connect (or "> limit" when it did not).
func cellText(c CellResult, limit float64) (string, string) {
	label := string(c.Path)
	switch c.Status {
	case StatusDeviation:
		label += " *"
	case StatusUnexpected, StatusError:
		label += " !"
	}
	if c.TimeToConnectMS == nil {
		if c.Error != "" {
			return label, "error"
		}
		return label, fmt.Sprintf("> %.0f s", limit)
	}
	return label, fmt.Sprintf("%.1f s", *c.TimeToConnectMS/1000)
}

func pathLabel(p Path) string {
	switch p {
	case Host:
		return "host (direct, no NAT)"
	case Srflx:
		return "srflx (direct via STUN)"
	case Prflx:
		return "prflx (direct, learned)"
	case Relay:
		return "relay (TURN/UDP)"
	case RelayTCP:
		return "relay over TCP"
	}
	return "failed"
}

// split breaks a NAT name into two lines at its last '-' (column labels).
func split(name string) (string, string) {
	if len(name) <= 11 {
		return name, ""
	}
	for i := len(name) - 1; i > 0; i-- {
		if name[i] == '-' {
			return name[:i+1], name[i+1:]
		}
	}
	return name, ""
}

func rect(x0, y0, x1, y1 vg.Length) []vg.Point {
	return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}, {X: x0, Y: y0}}
}
