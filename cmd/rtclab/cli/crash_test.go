package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// crashHelperEnv makes the test binary, run again as a child, be `rtclab
// run` with the arguments in it (tab-separated).
const crashHelperEnv = "RTCLAB_CRASH_HELPER_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(crashHelperEnv); args != "" {
		os.Exit(Main(strings.Split(args, "\t"), Env{Stdout: os.Stdout, Stderr: os.Stderr, Interrupt: new(atomic.Bool)}))
	}
	os.Exit(m.Run())
}

// TestCrashedRunLeavesNoHalfFiles kills a real-clock run with SIGKILL in
// the middle of its call (no deferred close runs) and reads its folder:
// no capture and no report under a final name, the captures under hidden
// temporary names, and an event log of whole JSON lines to read what
// happened up to the crash.
func TestCrashedRunLeavesNoHalfFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-clock run")
	}
	out := filepath.Join(t.TempDir(), "out")
	pcaps := filepath.Join(out, "pcap")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+strings.Join([]string{"run", "quickstart", "--clock", "real", "--out", out, "--pcap", pcaps}, "\t"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once media flows: the call's events are logged and the
	// captures hold some media.
	events := filepath.Join(out, eventsPartial)
	deadline := time.Now().Add(60 * time.Second)
	for lines(events) < 1 || dirSize(pcaps) < 500_000 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the run wrote %d event lines and %d bytes of captures in 60 s; stderr:\n%s", lines(events), dirSize(pcaps), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	for _, name := range []string{"report.json", "report.html", "junit.xml", eventsFile} {
		if _, err := os.Stat(filepath.Join(out, name)); err == nil {
			t.Errorf("%s exists after a crash mid-call", name)
		}
	}
	entries, _ := os.ReadDir(pcaps)
	hidden := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pcap") {
			t.Errorf("%s: a half capture under its final name", e.Name())
		}
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".pcap.partial") {
			hidden++
		}
	}
	if hidden == 0 {
		t.Errorf("no temporary captures in %s", pcaps)
	}
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if !json.Valid(sc.Bytes()) {
			t.Errorf("%s line %d is not whole JSON: %q", eventsPartial, n, sc.Text())
		}
	}
	if n < 1 {
		t.Errorf("%d event lines", n)
	}
}

func dirSize(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}

func lines(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(data, []byte("\n"))
}
