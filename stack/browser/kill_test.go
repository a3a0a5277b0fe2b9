package browser_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/probes"
	"github.com/rtclab/rtclab/stack/browser"
)

// TestChromiumKilled: a Chromium killed with SIGKILL mid-call ends the
// sampling with ErrExited and the last snapshot (what a partial report
// shows), and Close leaves no process of its group and no profile behind.
func TestChromiumKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	l := startLab(t)
	b := launch(t, ctx, l, dir)
	if err := b.Join(ctx, browser.Join{Origin: l.origin, Room: "r", Name: "alice", Loopback: true}); err != nil {
		t.Fatal(err)
	}
	pionOnLoopback(t, ctx, l, "bob", "r", netem.HostConfig{}, nil, nil, false)
	rec := probes.NewRecorder(time.Now(), nil)
	pid := b.PID()
	time.AfterFunc(4*time.Second, func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	sctx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	began := time.Now()
	last, err := b.Sample(sctx, "alice", time.Second, rec.Sample)
	if !errors.Is(err, browser.ErrExited) {
		t.Fatalf("sampling ended with %v, want ErrExited", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("the kill was noticed after %v", took)
	}
	if p, ok := last.Peer("bob"); !ok || p.State != "connected" {
		t.Errorf("last snapshot before the kill: %+v, want the connection to bob", last)
	}
	if len(rec.Series()) == 0 {
		t.Error("nothing recorded before the kill")
	}
	b.Close()
	// Nothing of the process group is left (renderers, zygote, GPU).
	if err := syscall.Kill(-pid, 0); err == nil || !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still there after Close: %v", pid, err)
	}
	if _, err := os.Stat(b.Profile()); !os.IsNotExist(err) {
		t.Errorf("profile %s left behind: %v", b.Profile(), err)
	}
	// And no process still names the profile on its command line.
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		cmd, err := os.ReadFile("/proc/" + p.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmd), b.Profile()) {
			t.Errorf("process %s still runs with the profile: %s", p.Name(), strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
}
