package reports_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
)

func TestWriteTextHeadline(t *testing.T) {
	tests := []struct {
		name string
		r    *reports.Report
		want string
	}{
		{"pass", passing(), "PASS quickstart (virtual clock, 30s scenario in 1.8s wall)"},
		{"fail", fixture(), "FAIL quickstart (virtual clock, 30s scenario in 1.8s wall)"},
		{"partial", partial(), "PARTIAL quickstart (virtual clock, 30s scenario interrupted after 0.74s wall)"},
		{"long run", func() *reports.Report {
			r := passing()
			r.Scenario.Clock, r.Scenario.DurationS, r.WallSeconds = "real", 600, 612.345
			return r
		}(), "PASS quickstart (real clock, 600s scenario in 612s wall)"},
		{"kernel backend", func() *reports.Report {
			r := passing()
			r.Scenario.Clock, r.Scenario.Backend, r.WallSeconds = "real", "kernel", 31.3
			return r
		}(), "PASS quickstart (kernel backend, real clock, 30s scenario in 31.3s wall)"},
		{"empty", &reports.Report{}, "UNKNOWN (unnamed scenario) (unknown clock, 0s scenario in 0s wall)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := reports.WriteText(&b, tt.r); err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(b.String(), "\n")
			if first != tt.want {
				t.Errorf("first line = %q, want %q", first, tt.want)
			}
			for i, line := range strings.Split(b.String(), "\n") {
				if strings.TrimRight(line, " \t") != line {
					t.Errorf("line %d ends in white space: %q", i+1, line)
				}
			}
		})
	}
}

func TestWriteTextFailures(t *testing.T) {
	var b bytes.Buffer
	if err := reports.WriteText(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"✗ carol connected",
		"measured 0, allowed == 1",
		"not measured",
		"Checks (3 passed, 2 failed)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWritersReportWriteErrors(t *testing.T) {
	tests := []struct {
		name  string
		write func() error
	}{
		{"text", func() error { return reports.WriteText(failingWriter{}, fixture()) }},
		{"html", func() error { return reports.WriteHTML(failingWriter{}, fixture(), nil) }},
		{"junit", func() error { return reports.WriteJUnit(failingWriter{}, fixture()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.write(); err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Errorf("error = %v, want one wrapping the writer's", err)
			}
		})
	}
}
