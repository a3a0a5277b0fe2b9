package reports_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
)

func TestJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		r    *reports.Report
	}{
		{"fixture", smallSeries()},
		{"partial", func() *reports.Report { r := smallSeries(); r.Partial, r.Error = true, "aborted"; return r }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "report.json")
			if err := reports.WriteJSON(path, tt.r); err != nil {
				t.Fatal(err)
			}
			got, err := reports.ReadJSON(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.r) {
				t.Errorf("round trip changed the report:\n got %+v\nwant %+v", got, tt.r)
			}
		})
	}
}

func TestWriteJSONFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteJSON(path, &reports.Report{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{
		"{\n  \"schema\": \"rtclab.report/v1\",", // indented, schema filled in
		`"participants": [],`,                    // lists are never null
		`"events": []`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report.json lacks %q:\n%s", want, s)
		}
	}
	if !strings.HasSuffix(s, "}\n") {
		t.Errorf("report.json does not end in a newline")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("dir holds %d files after an atomic write, want 1 (temp file left behind?)", len(entries))
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", info.Mode().Perm())
	}
}

// Non-finite numbers have no JSON encoding: samples are dropped, optional
// values become null, and the caller's report is left alone.
func TestWriteJSONNonFinite(t *testing.T) {
	r := smallSeries()
	r.Series[0].Points[1].V = math.NaN()
	r.Series[0].Points[2].V = math.Inf(1)
	r.Streams[0].RTTMS = ptr(math.NaN())
	r.Checks[0].Value = ptr(math.Inf(-1))
	path := filepath.Join(t.TempDir(), "report.json")
	if err := reports.WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	got, err := reports.ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []analysis.Point{{T: 0, V: 0}}; !reflect.DeepEqual(got.Series[0].Points, want) {
		t.Errorf("points = %v, want %v", got.Series[0].Points, want)
	}
	if got.Streams[0].RTTMS != nil || got.Checks[0].Value != nil {
		t.Errorf("non-finite optional values not written as null: rtt %v, value %v", got.Streams[0].RTTMS, got.Checks[0].Value)
	}
	if len(r.Series[0].Points) != 3 || r.Streams[0].RTTMS == nil || r.Checks[0].Value == nil {
		t.Errorf("WriteJSON modified the caller's report")
	}

	r.WallSeconds = math.NaN()
	if err := reports.WriteJSON(path, r); err == nil {
		t.Errorf("WriteJSON accepted a NaN wall_seconds")
	}
}

func TestReadJSONErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name       string
		path       string
		wantSchema bool
	}{
		{"missing file", filepath.Join(dir, "nope.json"), false},
		{"not json", write("bad.json", "{"), false},
		{"other version", write("v2.json", `{"schema": "rtclab.report/v2"}`), true},
		{"no schema", write("none.json", `{"tool": "x"}`), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reports.ReadJSON(tt.path)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, reports.ErrSchema); got != tt.wantSchema {
				t.Errorf("errors.Is(%v, ErrSchema) = %v, want %v", err, got, tt.wantSchema)
			}
		})
	}
}

// A newer writer of the same version may add fields; readers ignore them.
func TestReadJSONUnknownFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	content := `{"schema": "rtclab.report/v1", "verdict": "pass", "added_in_v1_9": {"x": 1}}`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := reports.ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != analysis.Pass {
		t.Errorf("verdict = %q, want pass", r.Verdict)
	}
}
