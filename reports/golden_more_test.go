package reports_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/rtclab/rtclab/internal/golden"
	"github.com/rtclab/rtclab/reports"
)

// quickstartFixture is a real report of this build's quickstart (series
// and most events left out): what the viewer saw and what the listener
// heard, as the media tables render them.
func quickstartFixture(t *testing.T) *reports.Report {
	t.Helper()
	r, err := reports.ReadJSON(filepath.Join("testdata", "quickstart.json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGoldenMediaBandwidthIndex pins the renderers the fixture of
// TestGolden does not reach: the media tables (video, audio, codecs), the
// RFC 8868 tables of a flows run, and the multi-run index with the
// headline numbers of a call and of a flows run.
func TestGoldenMediaBandwidthIndex(t *testing.T) {
	q := quickstartFixture(t)
	bw := reports.BandwidthFixture()
	sum := reports.NewSummary("rtclab test", []*reports.Report{q, bw}, []string{"quickstart", "rfc8867-5.2"}, 12.5)
	tests := []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"report-media.html", func(b *bytes.Buffer) error { return reports.WriteHTML(b, q, fakePlots()) }},
		{"summary-media.txt", func(b *bytes.Buffer) error { return reports.WriteText(b, q) }},
		{"report-bandwidth.html", func(b *bytes.Buffer) error { return reports.WriteHTML(b, bw, fakePlots()) }},
		{"summary-bandwidth.txt", func(b *bytes.Buffer) error { return reports.WriteText(b, bw) }},
		{"index.html", func(b *bytes.Buffer) error { return reports.WriteSummaryHTML(b, sum) }},
		{"index.txt", func(b *bytes.Buffer) error { return reports.WriteSummaryText(b, sum) }},
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

// The index's headline numbers are not empty for a call scenario.
func TestIndexHeadlinesForCalls(t *testing.T) {
	sum := reports.NewSummary("rtclab test", []*reports.Report{quickstartFixture(t)}, []string{"quickstart"}, 2)
	h := sum.Scenarios[0].Highlights
	want := []string{
		"2 of 2 participants connected to the end",
		"worst loss after repair 2.95 % (alice->bob audio)",
		"lowest video bitrate 500 kbit/s (bob->alice video)",
		"9 video freezes, 1.9 s in all",
		"lowest audio MOS 4.14 (alice->bob audio)",
	}
	if len(h) != len(want) {
		t.Fatalf("highlights %q, want %q", h, want)
	}
	for i := range want {
		if h[i] != want[i] {
			t.Errorf("highlight %d = %q, want %q", i, h[i], want[i])
		}
	}
}

// A link with TCP on it has no utilization (RFC 8868 section 3 item 10):
// its headline says so, not "utilization —%" (audit: summary.json of
// rtclab run rfc8867, cases 5.6 and 5.7).
func TestIndexHeadlineWithoutUtilization(t *testing.T) {
	u := 0.5
	r := &reports.Report{Bandwidth: &reports.Bandwidth{Links: []reports.BottleneckLink{{Name: "a uplink"}, {Name: "b uplink", Utilization: &u}}}}
	sum := reports.NewSummary("rtclab test", []*reports.Report{r}, []string{"x"}, 1)
	h := sum.Scenarios[0].Highlights
	if len(h) != 2 || h[0] != "a uplink: utilization — (beside TCP)" || h[1] != "b uplink: utilization 50.00%" {
		t.Fatalf("highlights %q", h)
	}
}
