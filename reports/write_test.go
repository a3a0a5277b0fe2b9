package reports_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
)

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs", "quickstart")
	files, err := reports.Write(dir, fixture())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if filepath.Dir(f) != dir {
			t.Errorf("%s is not in %s", f, dir)
		}
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() == 0 {
			t.Errorf("%s is empty", f)
		}
		names = append(names, filepath.Base(f))
	}
	want := []string{"report.json", "bitrate.png", "loss.png", "rtt.png", "jitter_ms.png", "report.html", "junit.xml"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("wrote %q, want %q", names, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("dir holds %d entries, want %d (temp files left behind?)", len(entries), len(want))
	}
	if _, err := reports.ReadJSON(filepath.Join(dir, "report.json")); err != nil {
		t.Errorf("written report.json does not read back: %v", err)
	}

	// Writing again replaces the files.
	if _, err := reports.Write(dir, passing()); err != nil {
		t.Fatal(err)
	}
	r, err := reports.ReadJSON(filepath.Join(dir, "report.json"))
	if err != nil || r.Verdict != "pass" {
		t.Errorf("second Write did not replace report.json: %v, %v", r, err)
	}
}

func TestWriteEmptyReport(t *testing.T) {
	files, err := reports.Write(t.TempDir(), &reports.Report{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Errorf("wrote %q, want report.json, report.html and junit.xml", files)
	}
}

func TestWriteErrorNamesPath(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(blocker, "report")
	files, err := reports.Write(dir, fixture())
	if err == nil {
		t.Fatal("Write under a regular file did not fail")
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name %s", err, dir)
	}
	if len(files) != 0 {
		t.Errorf("files = %q after failing to create the dir", files)
	}
}
