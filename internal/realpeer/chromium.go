package realpeer

import (
	"bufio"
	"context"
	"fmt"
	"github.com/rtclab/rtclab/stack/browser"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ChromiumFlags are the flags every test browser runs with: the ones
// every Chromium rtclab starts has (browser.HeadlessFlags), and no
// scrollbars in screenshots.
var ChromiumFlags = append(append([]string(nil), browser.HeadlessFlags...), "--hide-scrollbars")

// Chromium is a headless Chromium the test started.
type Chromium struct {
	// DevTools is the browser's DevTools WebSocket URL (for chromedp's
	// NewRemoteAllocator); empty when started without remote debugging.
	DevTools string
	// PID is the browser's process ID (of `ip netns exec` when wrapped).
	PID int
}

// StartChromium starts Debian's chromium with its own profile directory
// and ChromiumFlags plus extra; prefix runs it through another command
// (`ip netns exec NS`). With url empty it listens for DevTools on a free
// loopback port; otherwise it opens url and nothing drives it. Cleanup
// kills it by PID and waits for it.
func StartChromium(t testing.TB, prefix []string, url string, extra ...string) Chromium {
	t.Helper()
	bin := Binary(t, "chromium")
	args := append(append([]string{}, prefix...), bin, "--user-data-dir="+t.TempDir())
	args = append(append(args, ChromiumFlags...), extra...)
	if url == "" {
		args = append(args, "--remote-debugging-port=0", "about:blank")
	} else {
		args = append(args, url)
	}
	cmd := exec.Command(args[0], args[1:]...)
	// Its own process group, so that the renderers and GPU helpers it
	// forks are stopped with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
	})
	c := Chromium{PID: pid}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			select {
			case lines <- s.Text():
			default: // nobody reads any more: keep the pipe drained
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	if url != "" {
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("chromium exited before DevTools listened:\n%s", strings.Join(seen, "\n"))
			}
			if _, ws, found := strings.Cut(l, "DevTools listening on "); found {
				c.DevTools = strings.TrimSpace(ws)
				return c
			}
			seen = append(seen, l)
		case <-ctx.Done():
			t.Fatalf("chromium: no DevTools URL in 20 s:\n%s", strings.Join(seen, "\n"))
		}
	}
}

// String names the browser for logs.
func (c Chromium) String() string { return fmt.Sprintf("chromium pid %d", c.PID) }
