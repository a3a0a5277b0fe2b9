package reports

import (
	"math"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot/font"

	"github.com/rtclab/rtclab/analysis"
)

// LineChart draws series as one PNG chart in the house plot style that
// every report's charts share (sans-serif type, plain ticks, a light
// grid, the legend beside the data, colour-blind-safe colours), for HTML
// outputs outside this package (diagnose). The x axis runs from 0 to the
// last sample; fromZero pins the y axis at 0.
func LineChart(title, xLabel, yLabel string, series []analysis.Series, fromZero bool) ([]byte, error) {
	xMax := 0.0
	for _, s := range series {
		for _, p := range s.Points {
			if !math.IsNaN(p.T) && !math.IsInf(p.T, 0) {
				xMax = math.Max(xMax, p.T)
			}
		}
	}
	c := chart{title: title, xLabel: xLabel, yLabel: yLabel, scale: 1, fromZero: fromZero}
	return render(c, series, xMax)
}

// HouseFont is the typeface of every rtclab chart (Liberation Sans, which
// gonum/plot embeds, so charts look the same on every machine), for
// charts drawn outside this package (the matrix heatmap).
func HouseFont(points float64, weight stdfont.Weight) font.Font { return sans(points, weight) }
