package reports_test

import (
	"bytes"
	"image/png"
	"math"
	"reflect"
	"testing"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
)

func series(name, metric string, values ...float64) analysis.Series {
	s := analysis.Series{Name: name, Metric: metric, Unit: "u", Points: []analysis.Point{}}
	for i, v := range values {
		s.Points = append(s.Points, analysis.Point{T: float64(i) / 10, V: v})
	}
	return s
}

func TestPlots(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name      string
		series    []analysis.Series
		wantFiles []string
	}{
		{"no series", nil, nil},
		{"fixture order", fixture().Series, []string{"bitrate.png", "loss.png", "rtt.png", "jitter_ms.png"}},
		{"known metrics in fixed order", []analysis.Series{
			series("a", "rtt_ms", 40, 41),
			series("a", "zeta", 1, 2),
			series("a", "loss_fraction", 0, 0.1),
			series("a", "alpha", 3, 4),
			series("a", "bitrate_kbps", 100, 200),
		}, []string{"bitrate.png", "loss.png", "rtt.png", "alpha.png", "zeta.png"}},
		{"zero points", []analysis.Series{series("a->b video", "bitrate_kbps")}, []string{"bitrate.png"}},
		{"one point", []analysis.Series{series("a->b video", "rtt_ms", 48)}, []string{"rtt.png"}},
		{"only NaN", []analysis.Series{series("a->b video", "loss_fraction", nan, nan)}, []string{"loss.png"}},
		{"NaN gaps and isolated points", []analysis.Series{
			series("a->b video", "bitrate_kbps", nan, 100, nan, 200, 300, nan, math.Inf(1), 5),
		}, []string{"bitrate.png"}},
		{"flat zero line", []analysis.Series{series("a->b", "loss_fraction", 0, 0, 0)}, []string{"loss.png"}},
		{"negative and huge values", []analysis.Series{series("x", "offset_ms", -1e9, 1e9)}, []string{"offset_ms.png"}},
		{"unsafe and clashing metric names", []analysis.Series{
			series("a", "../../etc/passwd", 1, 2),
			series("a", "bitrate", 1, 2),
			series("a", "bitrate_kbps", 1, 2),
			series("a", "", 1, 2),
		}, []string{"bitrate.png", "metric.png", "______etc_passwd.png", "bitrate-2.png"}},
		// More than maxPerChart (8) series become small multiples of 8.
		{"many series and long names", manySeries(40), []string{"bitrate.png", "bitrate-2.png", "bitrate-3.png", "bitrate-4.png", "bitrate-5.png"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // also shows Plots is safe for concurrent use
			r := fixture()
			r.Series = tt.series
			plots, err := reports.Plots(r)
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			for _, p := range plots {
				files = append(files, p.File)
				checkPNG(t, p)
			}
			if !reflect.DeepEqual(files, tt.wantFiles) {
				t.Errorf("files = %q, want %q", files, tt.wantFiles)
			}
		})
	}
}

func manySeries(n int) []analysis.Series {
	var out []analysis.Series
	for i := range n {
		name := "participant-with-a-rather-long-name-" + string(rune('a'+i%26)) + "->sfu video simulcast layer"
		out = append(out, series(name, "bitrate_kbps", float64(i), float64(2*i)))
	}
	return out
}

// checkPNG decodes p and checks its size: 8 x 3.5 inches at 144 dpi, taller
// only when the legend needs it.
func checkPNG(t *testing.T, p reports.Plot) {
	t.Helper()
	cfg, err := png.DecodeConfig(bytes.NewReader(p.PNG))
	if err != nil {
		t.Fatalf("%s: %v", p.File, err)
	}
	if _, err := png.Decode(bytes.NewReader(p.PNG)); err != nil {
		t.Fatalf("%s: %v", p.File, err)
	}
	if cfg.Width != 1152 || cfg.Height < 504 || cfg.Height > 4000 {
		t.Errorf("%s is %dx%d, want 1152 wide and 504..4000 high", p.File, cfg.Width, cfg.Height)
	}
	if p.Title == "" {
		t.Errorf("%s has no title", p.File)
	}
}

func TestPlotsTitles(t *testing.T) {
	plots, err := reports.Plots(fixture())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range plots {
		got = append(got, p.Title)
	}
	want := []string{"Received bitrate per stream", "Loss after repair, 1 s windows (LOSS % of the table)", "Round-trip time", "jitter_ms"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("titles = %q, want %q", got, want)
	}
}

// The same report renders to the same bytes. PNGs are not golden files:
// rasterizing may differ across platforms and library versions.
func TestPlotsDeterministic(t *testing.T) {
	a, err := reports.Plots(fixture())
	if err != nil {
		t.Fatal(err)
	}
	b, err := reports.Plots(fixture())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("two renderings of the same report differ")
	}
}

func TestPlotsNilReport(t *testing.T) {
	plots, err := reports.Plots(nil)
	if err != nil || plots != nil {
		t.Errorf("Plots(nil) = %v, %v; want nil, nil", plots, err)
	}
}
