package reports

import (
	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot/font"
)

// HouseFont is the typeface of every rtclab chart (Liberation Sans, which
// gonum/plot embeds, so charts look the same on every machine), for
// charts drawn outside this package (the matrix heatmap).
func HouseFont(points float64, weight stdfont.Weight) font.Font { return sans(points, weight) }
