package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// maxLines is the most series a line chart draws one line each for;
// beyond it (a room of more than 5 people with audio and video) the
// lines and their legend are unreadable, and Plots draws the
// publisher × subscriber matrix (StreamMatrix) instead.
const maxLines = 40

// MatrixFile is the file name of the stream matrix chart.
const MatrixFile = "stream-matrix.png"

// matrixPanel is one publisher × subscriber panel: a value per cell.
type matrixPanel struct {
	title string
	// value of a cell; ok false leaves it blank (no such stream).
	value func(s Stream) (float64, bool)
	// bad is true when high values are bad (freezes): the colour ramp
	// then runs the other way.
	bad bool
}

// StreamMatrix renders received video bitrate and video freezes as two
// heatmaps, rows the publishers and columns the subscribers, so a room of
// 50 reads at a glance; audio bitrate goes in a third panel when no
// stream is video. It returns nil when there is no stream.
func StreamMatrix(r *Report) (png []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("stream matrix: %v", p)
		}
	}()
	if r == nil || len(r.Streams) == 0 {
		return nil, nil
	}
	var pubs, subs []string
	for _, s := range r.Streams {
		if !slices.Contains(pubs, s.From) {
			pubs = append(pubs, s.From)
		}
		if !slices.Contains(subs, s.To) {
			subs = append(subs, s.To)
		}
	}
	slices.Sort(pubs)
	slices.Sort(subs)
	kind := "video"
	if !slices.ContainsFunc(r.Streams, func(s Stream) bool { return s.Kind == "video" }) {
		kind = "audio"
	}
	panels := []matrixPanel{{
		title: "Received " + kind + " bitrate (kbit/s)",
		value: func(s Stream) (float64, bool) { return s.BitrateKbps, s.Kind == kind },
	}}
	if kind == "video" {
		panels = append(panels, matrixPanel{
			title: "Video freezes (count)", bad: true,
			value: func(s Stream) (float64, bool) {
				if s.Kind != "video" || s.Video == nil {
					return 0, false
				}
				return float64(s.Video.FreezeCount), true
			},
		})
	}

	// Geometry in inches: cells shrink with the room, labels stay legible.
	cell := math.Max(0.12, math.Min(0.45, 6.0/float64(max(len(pubs), len(subs)))))
	labelW, labelH, titleH, pad, barH := 0.75, 0.6, 0.45, 0.3, 0.55
	panelW := labelW + float64(len(subs))*cell + pad
	panelH := titleH + labelH + float64(len(pubs))*cell + barH + pad
	in := func(x float64) vg.Length { return vg.Length(x) * vg.Inch }
	w, h := in(float64(len(panels))*panelW+pad), in(panelH+0.5)
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI))
	dc := draw.New(img)
	dc.FillPolygon(color.White, box(0, 0, w, h))
	text := func(s string, x, y vg.Length, size float64, weight stdfont.Weight, xa draw.XAlignment, rot float64) {
		dc.FillText(draw.TextStyle{Color: color.Black, Font: sans(size, weight), XAlign: xa, YAlign: draw.YCenter, Rotation: rot, Handler: plot.DefaultTextHandler}, vg.Point{X: x, Y: y}, s)
	}
	text(fmt.Sprintf("%s: publisher (rows) to subscriber (columns), %d streams", r.Scenario.Name, len(r.Streams)), in(pad), h-in(0.25), 13, stdfont.WeightBold, draw.XLeft, 0)
	labelSize := math.Max(5, math.Min(9, cell*72*0.8))
	byPair := map[[2]string][]Stream{}
	for _, s := range r.Streams {
		byPair[[2]string{s.From, s.To}] = append(byPair[[2]string{s.From, s.To}], s)
	}
	for pi, panel := range panels {
		x0 := in(pad + float64(pi)*panelW)
		top := h - in(0.5)
		text(panel.title, x0, top-in(titleH/2), 11.5, stdfont.WeightBold, draw.XLeft, 0)
		lo, hi := 0.0, 0.0
		for _, s := range r.Streams {
			if v, ok := panel.value(s); ok && isFinite(v) {
				hi = math.Max(hi, v)
			}
		}
		// From zero, so that 502 against 504 kbit/s is not red
		// against green; at least 1, so that no freeze at all is green.
		hi = math.Max(hi, 1)
		gridTop := top - in(titleH+labelH)
		gridLeft := x0 + in(labelW)
		for j, sub := range subs {
			text(sub, gridLeft+in((float64(j)+0.5)*cell), gridTop+in(0.05), labelSize, stdfont.WeightNormal, draw.XLeft, math.Pi/2)
		}
		for i, pub := range pubs {
			y1 := gridTop - in(float64(i)*cell)
			text(pub, gridLeft-in(0.05), y1-in(cell/2), labelSize, stdfont.WeightNormal, draw.XRight, 0)
			for j, sub := range subs {
				x := gridLeft + in(float64(j)*cell)
				fill := color.Color(color.Gray{Y: 245})
				for _, s := range byPair[[2]string{pub, sub}] {
					if v, ok := panel.value(s); ok && isFinite(v) {
						fill = ramp(v, lo, hi, panel.bad)
					}
				}
				dc.FillPolygon(fill, box(x, y1-in(cell), x+in(cell), y1))
				dc.StrokeLines(draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}, box(x, y1-in(cell), x+in(cell), y1))
			}
		}
		// Colour bar with its two ends.
		by := gridTop - in(float64(len(pubs))*cell+0.3)
		const steps = 40
		bw := float64(len(subs)) * cell
		for k := range steps {
			v := lo + (hi-lo)*float64(k)/float64(steps-1)
			bx := gridLeft + in(bw*float64(k)/steps)
			dc.FillPolygon(ramp(v, lo, hi, panel.bad), box(bx, by-in(0.08), bx+in(bw/steps)+vg.Points(0.5), by+in(0.08)))
		}
		text(fmt.Sprintf("%.0f", lo), gridLeft, by-in(0.2), 8.5, stdfont.WeightNormal, draw.XLeft, 0)
		text(fmt.Sprintf("%.0f", hi), gridLeft+in(bw), by-in(0.2), 8.5, stdfont.WeightNormal, draw.XRight, 0)
		text("grey: no such stream", gridLeft+in(bw/2), by-in(0.2), 8.5, stdfont.WeightNormal, draw.XCenter, 0)
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("stream matrix png: %w", err)
	}
	return buf.Bytes(), nil
}

// ramp maps v in [lo, hi] from red (bad) through yellow to green (good).
func ramp(v, lo, hi float64, highIsBad bool) color.RGBA {
	f := 1.0
	if hi > lo {
		f = (v - lo) / (hi - lo)
	}
	if highIsBad {
		f = 1 - f
	}
	f = math.Max(0, math.Min(1, f))
	bad, mid, good := [3]float64{0xd7, 0x30, 0x27}, [3]float64{0xfe, 0xe0, 0x8b}, [3]float64{0x1a, 0x98, 0x50}
	a, b, t := bad, mid, f*2
	if f > 0.5 {
		a, b, t = mid, good, (f-0.5)*2
	}
	c := func(i int) uint8 { return uint8(a[i] + (b[i]-a[i])*t) }
	return color.RGBA{c(0), c(1), c(2), 0xff}
}

func box(x0, y0, x1, y1 vg.Length) []vg.Point {
	return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}, {X: x0, Y: y0}}
}
