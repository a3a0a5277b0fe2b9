package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Captures and the key log are written under hidden temporary names
// while the run goes and get their final names only when the run closes
// them: a run that crashes half way leaves no half file that says it is
// whole (issue #17). Before, HOST.pcap was written in place.
func TestCapturesNamedWhenWhole(t *testing.T) {
	dir := t.TempDir()
	s := mustLoad(t, "quickstart")
	s.Duration.Duration = 3 * time.Second
	var during []string
	progress := func(elapsed, _ time.Duration) {
		if during != nil || elapsed < 2*time.Second {
			return
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Error(err)
			return
		}
		during = []string{}
		for _, e := range entries {
			during = append(during, e.Name())
		}
	}
	if _, err := runVirtual(t, s, Options{CaptureDir: dir, Progress: progress}); err != nil {
		t.Fatal(err)
	}
	var partials int
	for _, name := range during {
		if strings.HasSuffix(name, ".pcap") || name == KeyLogFile {
			t.Errorf("%s under its final name while the run was going", name)
		}
		if strings.HasPrefix(name, ".") && strings.Contains(name, ".partial") {
			partials++
		}
	}
	if partials < 5 { // alice, bob, sfu, turn and the key log
		t.Errorf("mid-run the folder held %q, want a temporary file per host and the key log", during)
	}
	after, _ := os.ReadDir(dir)
	var names []string
	for _, e := range after {
		names = append(names, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("%s left after the run", e.Name())
		}
	}
	for _, want := range []string{"alice.pcap", "bob.pcap", "sfu.pcap", "turn.pcap", KeyLogFile} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("no %s after the run (folder: %q)", want, names)
		}
	}
}
