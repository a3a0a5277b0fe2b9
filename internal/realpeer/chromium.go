package realpeer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"

	"github.com/rtclab/rtclab/stack/browser"
)

// ChromiumFlags are the flags every test browser runs with: the ones
// every Chromium rtclab starts has (browser.HeadlessFlags), and no
// scrollbars in screenshots.
var ChromiumFlags = append(append([]string(nil), browser.HeadlessFlags...), "--hide-scrollbars")

// Chromium is a headless Chromium the test started.
type Chromium struct {
	// DevTools is the browser's DevTools WebSocket URL (for chromedp's
	// NewRemoteAllocator); empty when started without remote debugging or
	// with CDP over a pipe (see Allocator).
	DevTools string
	// PID is the browser's process ID (of `ip netns exec` when wrapped).
	PID int
	// pipe is its CDP pipe when it runs in another namespace.
	pipe *chromedp.PipeConn
}

// Allocator returns a chromedp allocator context for the browser: over
// its DevTools WebSocket, or over its CDP pipe when it runs through a
// prefix (another namespace, whose loopback port this process cannot
// reach).
func (c Chromium) Allocator(parent context.Context) (context.Context, context.CancelFunc) {
	if c.pipe != nil {
		return chromedp.NewAllocatorContext(parent, attachedPipe{c.pipe})
	}
	return remote.NewAllocator(parent, c.DevTools)
}

// attachedPipe hands chromedp the browser over its CDP pipe as an
// attached one, like remote.Allocator's: the test started it and its
// cleanup stops it, so cancelling a tab context (chromedp.Cancel) closes
// the tab only, and nothing waits for chromedp to stop the process.
// (stack/browser's pipe allocator owns its browser instead.)
type attachedPipe struct{ conn *chromedp.PipeConn }

func (a attachedPipe) Allocate(ctx context.Context, opts ...chromedp.BrowserOption) (*chromedp.Browser, error) {
	return chromedp.NewBrowserTransport(ctx, a.conn, opts...)
}

func (attachedPipe) Wait() {}

// Attaches is chromedp.Attacher's: this allocator starts no process.
func (attachedPipe) Attaches() bool { return true }

// StartChromium starts Debian's chromium with its own profile directory
// and ChromiumFlags plus extra; prefix runs it through another command
// (`ip netns exec NS`). With url empty it is driven over CDP (see
// Allocator): on a free loopback port without a prefix, over a pipe (file
// descriptors 3 and 4, which `ip netns exec` passes on) with one;
// otherwise it opens url and nothing drives it. Cleanup kills it by PID
// and waits for it.
func StartChromium(t testing.TB, prefix []string, url string, extra ...string) Chromium {
	t.Helper()
	bin := Binary(t, "chromium")
	args := append(append([]string{}, prefix...), bin, "--user-data-dir="+t.TempDir())
	args = append(append(args, ChromiumFlags...), extra...)
	piped := url == "" && len(prefix) > 0
	switch {
	case piped:
		args = append(args, "--remote-debugging-pipe", "about:blank")
	case url == "":
		args = append(args, "--remote-debugging-port=0", "about:blank")
	default:
		args = append(args, url)
	}
	cmd := exec.Command(args[0], args[1:]...)
	var c Chromium
	if piped {
		// The browser reads commands from fd 3 and writes to fd 4.
		cmdR, cmdW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		respR, respW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.ExtraFiles = []*os.File{cmdR, respW}
		// The child has its own copies of cmdR and respW once started.
		defer func() { cmdR.Close(); respW.Close() }()
		t.Cleanup(func() { cmdW.Close(); respR.Close() })
		c.pipe = chromedp.NewPipeConn(respR, cmdW)
	}
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
	c.PID = pid
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
	if url != "" || piped {
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
