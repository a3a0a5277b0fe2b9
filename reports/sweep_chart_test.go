package reports

import (
	"bytes"
	"image/png"
	"math"
	"testing"
)

// A panel whose cells all hold one value is drawn in the colour of good
// values (no freeze anywhere is green, not red), whichever way is good.
func TestGridChartFlatPanelIsGood(t *testing.T) {
	good := ramp(0, 0, 1, true)
	for _, highIsBad := range []bool{true, false} {
		v := 0.0
		if !highIsBad {
			v = 4.41
		}
		img, err := GridChart("t", "loss", "seed", []string{"0%"}, []string{"1"}, []GridPanel{{Title: "p", Values: [][]float64{{v}}, HighIsBad: highIsBad}})
		if err != nil {
			t.Fatal(err)
		}
		pic, err := png.Decode(bytes.NewReader(img))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		b := pic.Bounds()
		for y := b.Min.Y; y < b.Max.Y && !found; y += 2 {
			for x := b.Min.X; x < b.Max.X; x += 2 {
				r, g, bl, _ := pic.At(x, y).RGBA()
				if uint8(r>>8) == good.R && uint8(g>>8) == good.G && uint8(bl>>8) == good.B {
					found = true
					break
				}
			}
		}
		if !found {
			t.Errorf("high is bad %v: the flat panel has no cell in the good colour", highIsBad)
		}
	}
}

func TestLineChartGaps(t *testing.T) {
	img, err := LineChart("t", "x", "y", nil, []Line{{Name: "a", X: []float64{0, 1, 2}, Y: []float64{1, math.NaN(), 3}}, {Name: "none", X: []float64{0}, Y: []float64{math.NaN()}}})
	if err != nil || len(img) == 0 {
		t.Fatalf("%v", err)
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatal(err)
	}
}
