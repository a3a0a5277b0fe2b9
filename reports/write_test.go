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

// TestCreateFile: a streamed file is not under its final name until
// Close; Abort (or a crash) publishes nothing.
func TestCreateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alice.pcap")
	f, err := reports.CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("half")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("%s exists before Close (%v): a crash now would leave a half file under its final name", path, err)
	}
	if _, err := f.Write([]byte(" and the rest")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "half and the rest" {
		t.Errorf("%s = %q, %v", path, data, err)
	}

	g, err := reports.CreateFile(filepath.Join(dir, "bob.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = g.Write([]byte("x"))
	if err := g.Abort(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "alice.pcap" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %q, want only alice.pcap", names)
	}
}
