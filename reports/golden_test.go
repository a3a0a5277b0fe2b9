package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/internal/golden"
	"github.com/rtclab/rtclab/reports"
)

// fakePlots stand in for Plots(r) in golden files: PNG bytes may differ
// between platforms and library versions, the page around them may not.
func fakePlots() []reports.Plot {
	return []reports.Plot{
		{File: "bitrate.png", Title: "Received bitrate per stream", PNG: []byte("fake png: bitrate")},
		{File: "loss.png", Title: "Loss over time", PNG: []byte("fake png: loss")},
	}
}

// partial is the fixture stopped early by a signal.
func partial() *reports.Report {
	r := fixture()
	r.Partial = true
	r.Error = "interrupted by signal: SIGINT <ctrl-c> at 12.3s scenario time"
	r.WallSeconds = 0.74
	return r
}

// passing is the fixture with only its passing checks.
func passing() *reports.Report {
	r := fixture()
	var checks []analysis.Check
	for _, c := range r.Checks {
		if c.Verdict == analysis.Pass {
			checks = append(checks, c)
		}
	}
	r.Checks, r.Verdict = checks, analysis.Pass
	return r
}

// smallSeries is the fixture with a few literal samples instead of its
// generated series, so report.json stays short and exact.
func smallSeries() *reports.Report {
	r := fixture()
	r.Series = []analysis.Series{
		{Name: "alice->bob video", Metric: "bitrate_kbps", Unit: "kbps", Points: []analysis.Point{{T: 0, V: 0}, {T: 0.1, V: 812.5}, {T: 0.2, V: 1203.4}}},
		{Name: "alice->bob video", Metric: "loss_fraction", Unit: "fraction", Points: []analysis.Point{{T: 0.1, V: 0.05}}},
		{Name: "bob->alice video", Metric: "rtt_ms", Unit: "ms", Points: []analysis.Point{}},
	}
	return r
}

func empty() *reports.Report {
	return &reports.Report{Schema: reports.Schema, Verdict: analysis.Pass}
}

func TestGolden(t *testing.T) {
	html := func(r *reports.Report) func(*bytes.Buffer) error {
		return func(b *bytes.Buffer) error { return reports.WriteHTML(b, r, fakePlots()) }
	}
	text := func(r *reports.Report) func(*bytes.Buffer) error {
		return func(b *bytes.Buffer) error { return reports.WriteText(b, r) }
	}
	junit := func(r *reports.Report) func(*bytes.Buffer) error {
		return func(b *bytes.Buffer) error { return reports.WriteJUnit(b, r) }
	}
	tests := []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"report.html", html(fixture())},
		{"report-partial.html", html(partial())},
		{"report-pass.html", html(passing())},
		{"report-empty.html", func(b *bytes.Buffer) error { return reports.WriteHTML(b, empty(), nil) }},
		{"summary.txt", text(fixture())},
		{"summary-partial.txt", text(partial())},
		{"summary-pass.txt", text(passing())},
		{"summary-empty.txt", text(empty())},
		{"junit.xml", junit(fixture())},
		{"junit-partial.xml", junit(partial())},
		{"report.json", func(b *bytes.Buffer) error {
			path := filepath.Join(t.TempDir(), "report.json")
			if err := reports.WriteJSON(path, smallSeries()); err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			b.Write(data)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := tt.render(&got); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "golden", tt.name+".golden"), got.Bytes())
		})
	}
}
