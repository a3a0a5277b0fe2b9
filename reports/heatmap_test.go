package reports

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/analysis"
)

// A crowded report gets the publisher × subscriber matrix instead of line
// charts with hundreds of lines; a small one keeps its line charts.
func TestCrowdedReportGetsMatrix(t *testing.T) {
	for _, tc := range []struct {
		people     int
		wantMatrix bool
	}{{2, false}, {4, false}, {8, true}} {
		t.Run(fmt.Sprint(tc.people), func(t *testing.T) {
			r := &Report{Scenario: ScenarioInfo{Name: "room", DurationS: 2}}
			for i := range tc.people {
				for j := range tc.people {
					if i == j {
						continue
					}
					for _, kind := range []string{"audio", "video"} {
						st := Stream{From: fmt.Sprintf("p%d", i), To: fmt.Sprintf("p%d", j), Kind: kind, BitrateKbps: 500, Video: &VideoStream{}}
						r.Streams = append(r.Streams, st)
						r.Series = append(r.Series, analysis.Series{Name: "bitrate " + st.From + "->" + st.To + " " + kind, Metric: "bitrate_kbps",
							Points: []analysis.Point{{T: 1, V: 500}, {T: 2, V: 500}}})
					}
				}
			}
			plots, err := Plots(r)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]bool{}
			for _, p := range plots {
				files[p.File] = true
			}
			if files[MatrixFile] != tc.wantMatrix || files["bitrate.png"] == tc.wantMatrix {
				t.Errorf("%d series: plots %v; want the matrix %v, the bitrate lines %v", len(r.Series), files, tc.wantMatrix, !tc.wantMatrix)
			}
			var text bytes.Buffer
			if err := WriteText(&text, r); err != nil {
				t.Fatal(err)
			}
			summary := strings.Contains(text.String(), "Received, per participant")
			if summary != tc.wantMatrix || strings.Contains(text.String(), "\nStreams\n") == tc.wantMatrix {
				t.Errorf("%d streams: per-participant summary %v, want %v:\n%s", len(r.Streams), summary, tc.wantMatrix, text.String())
			}
		})
	}
}

// The colour ramp: nothing received is red, the most received green;
// for freezes, none is green and the most red.
func TestRamp(t *testing.T) {
	red, green := ramp(0, 0, 1, false), ramp(1, 0, 1, false)
	if red.R < 0xc0 || red.G > 0x60 || green.G < 0x90 || green.R > 0x40 {
		t.Errorf("bitrate ramp: 0 -> %v, max -> %v", red, green)
	}
	if ramp(0, 0, 1, true) != green || ramp(1, 0, 1, true) != red {
		t.Errorf("freeze ramp: 0 -> %v, max -> %v", ramp(0, 0, 1, true), ramp(1, 0, 1, true))
	}
	if ramp(502, 0, 504, false).G < 0x90 {
		t.Errorf("502 of 504 kbit/s is %v, want green", ramp(502, 0, 504, false))
	}
}
