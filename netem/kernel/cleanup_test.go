package kernel

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/netem"
)

// helperEnv makes the test binary a helper that builds a network, prints
// its namespaces and waits to be killed (TestCleanStaleAfterSIGKILL).
const helperEnv = "RTCLAB_KERNEL_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "build-and-wait" {
		n, err := New(netem.Config{Servers: []string{"srv"}, Hosts: []netem.HostConfig{{Name: "h", NAT: netem.Symmetric}}}, Options{})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		for _, ns := range n.nss {
			fmt.Println(ns)
		}
		fmt.Println("ready")
		select {} // until SIGKILL
	}
	os.Exit(m.Run())
}

func namespaces(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestCleanStaleAfterSIGKILL kills a process that built a network with
// SIGKILL (no deferred clean-up runs), checks that its namespaces were
// left behind, and that the next New (CleanStale) removes them while a
// live network's namespaces stay.
func TestCleanStaleAfterSIGKILL(t *testing.T) {
	require(t)
	live := newNetwork(t, netem.Config{Servers: []string{"srv"}})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=build-and-wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var left []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
		if strings.HasPrefix(sc.Text(), "error") {
			t.Fatal(sc.Text())
		}
		left = append(left, sc.Text())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(left) < 4 {
		t.Fatalf("helper made %d namespaces: %v", len(left), left)
	}
	for _, ns := range left {
		if !slices.Contains(namespaces(t), ns) {
			t.Fatalf("%s is gone before any clean-up: the test proves nothing", ns)
		}
	}
	gone, err := CleanStale()
	if err != nil {
		t.Fatal(err)
	}
	now := namespaces(t)
	for _, ns := range left {
		if slices.Contains(now, ns) {
			t.Errorf("%s of the killed run is still there", ns)
		}
		if !slices.Contains(gone, ns) {
			t.Errorf("CleanStale did not report %s", ns)
		}
	}
	for _, ns := range live.nss {
		if !slices.Contains(now, ns) {
			t.Errorf("CleanStale removed %s of a live run", ns)
		}
		if _, err := os.Stat(filepath.Join(netnsDir, ns)); err != nil {
			t.Error(err)
		}
	}
}

func TestOwnerPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"rtclabk-123-4-core", 123, true},
		{"rtclabk-9-1-h0", 9, true},
		{"rtclab-s1234", 0, false}, // diagnose's test namespaces are not ours
		{"rtclabk-x-1-h0", 0, false},
		{"rtclabk-0-1-h0", 0, false},
		{"other", 0, false},
	} {
		pid, ok := ownerPID(tc.name)
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("ownerPID(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}
