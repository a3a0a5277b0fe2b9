package browser

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"
)

// HeadlessFlags are the flags every Chromium rtclab starts runs with (a
// participant here, the test page's browser in internal/realpeer):
// headless, no GPU or QUIC, no background traffic of its own (on a
// closed network its lookups and connections only fail), and fake media
// devices that need no permission prompt.
var HeadlessFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
}

// Flags are the command-line flags every participant's Chromium runs
// with besides its profile directory and media files (and
// LoopbackFlag when Params.Loopback): HeadlessFlags, host candidates
// with their addresses (no mDNS names: rtclab's peers resolve none).
var Flags = append(append([]string(nil), HeadlessFlags...),
	"--disable-features=WebRtcHideLocalIpsWithMdns",
	"--autoplay-policy=no-user-gesture-required",
	// CDP over file descriptors 3 and 4, which `ip netns exec` passes on:
	// a port would listen on the loopback of the browser's namespace.
	"--remote-debugging-pipe",
)

// LoopbackFlag lets Chromium gather host candidates on loopback, which a
// browser otherwise never does: for a call on loopback only (a test in
// a namespace of its own, kernel.Loopback). On the kernel backend a
// participant's browser runs without it, as a user's does, and announces
// no 127.0.0.1 candidate.
const LoopbackFlag = "--allow-loopback-in-peer-connection"

// ErrExited is returned when Chromium's process ends before it is closed.
var ErrExited = errors.New("browser: chromium exited")

// Params declares one Chromium participant.
type Params struct {
	// Binary is the Chromium executable; "" means "chromium" on PATH.
	Binary string
	// Dir is where the profile directory is made (removed on Close).
	Dir string
	// Video and Audio are the fake camera (Y4M) and microphone (WAV)
	// files; see Media.
	Video, Audio string
	// Netns, when set, starts Chromium inside this network namespace
	// (ip netns exec; the CDP pipe goes through).
	Netns string
	// Origin, when set, is the call page's origin if it is not loopback:
	// Chromium then treats it as secure, which getUserMedia needs.
	Origin string
	// Loopback runs it with LoopbackFlag.
	Loopback bool
	// Log receives what the browser does; nil discards.
	Log *slog.Logger
}

// Browser is a running Chromium.
type Browser struct {
	cmd     *exec.Cmd
	profile string
	tmp     string // its TMPDIR
	log     *slog.Logger
	exited  chan struct{}
	waitErr error

	allocCancel, tabCancel context.CancelFunc
	tab                    context.Context

	closeOnce sync.Once
}

// Launch starts Chromium and connects to it over CDP; it returns once a
// tab is open. Close stops it.
func Launch(ctx context.Context, p Params) (*Browser, error) {
	bin := p.Binary
	if bin == "" {
		bin = "chromium"
	}
	if p.Dir == "" || p.Video == "" || p.Audio == "" {
		return nil, errors.New("browser: Params.Dir, Video and Audio are required")
	}
	profile, err := os.MkdirTemp(p.Dir, "chromium-profile-")
	if err != nil {
		return nil, fmt.Errorf("browser: profile: %w", err)
	}
	args := append([]string(nil), Flags...)
	if p.Loopback {
		args = append(args, LoopbackFlag)
	}
	args = append(args, "--user-data-dir="+profile,
		"--use-file-for-fake-video-capture="+p.Video,
		"--use-file-for-fake-audio-capture="+p.Audio,
		"about:blank")
	if p.Origin != "" {
		args = append(args[:len(args)-1], "--unsafely-treat-insecure-origin-as-secure="+p.Origin, "about:blank")
	}
	if p.Netns != "" {
		args = append([]string{"netns", "exec", p.Netns, bin}, args...)
		bin = "ip"
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cmd := exec.Command(bin, args...)
	// Its temporary files (org.chromium.Chromium.*, which a killed browser
	// leaves) go to a folder of its own that Close removes; a short path,
	// since a Unix socket's path is limited to 107 bytes.
	tmp, err := os.MkdirTemp("", "rc")
	if err != nil {
		_ = os.RemoveAll(profile)
		return nil, fmt.Errorf("browser: %w", err)
	}
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	// Its own process group, so Close kills the renderers and the zygote
	// with it, by that group's ID.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The CDP pipe: the browser reads commands from fd 3, writes to fd 4.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		_ = os.RemoveAll(profile)
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("browser: pipe: %w", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		_ = os.RemoveAll(profile)
		_ = os.RemoveAll(tmp)
		cmdR.Close()
		cmdW.Close()
		return nil, fmt.Errorf("browser: pipe: %w", err)
	}
	cmd.ExtraFiles = []*os.File{cmdR, respW}
	stderr, err := cmd.StderrPipe()
	if err == nil {
		err = cmd.Start()
	}
	cmdR.Close() // the child has its own copies
	respW.Close()
	if err != nil {
		cmdW.Close()
		respR.Close()
		_ = os.RemoveAll(profile)
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("browser: start %s: %w", bin, err)
	}
	b := &Browser{cmd: cmd, profile: profile, tmp: tmp, log: log, exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.Debug("chromium", "line", sc.Text())
		}
		b.waitErr = cmd.Wait()
		close(b.exited)
	}()
	allocCtx, allocCancel := chromedp.NewAllocatorContext(context.Background(), &pipeAllocator{conn: chromedp.NewPipeConn(respR, cmdW)})
	tab, tabCancel := chromedp.NewContext(allocCtx)
	b.allocCancel, b.tabCancel, b.tab = allocCancel, tabCancel, tab
	connected := make(chan error, 1)
	go func() { connected <- chromedp.Do(tab) }()
	select {
	case err = <-connected:
	case <-b.exited:
		err = fmt.Errorf("%w before CDP came up: %v", ErrExited, b.waitErr)
	case <-time.After(30 * time.Second):
		err = errors.New("no CDP answer from chromium within 30 s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("browser: CDP connect: %w", err)
	}
	log.Info("chromium started", "pid", cmd.Process.Pid, "profile", profile)
	return b, nil
}

// pipeAllocator hands chromedp the browser rtclab started, over its CDP
// pipe; it starts nothing itself.
type pipeAllocator struct{ conn *chromedp.PipeConn }

func (a *pipeAllocator) Allocate(ctx context.Context, opts ...chromedp.BrowserOption) (*chromedp.Browser, error) {
	return chromedp.NewBrowserTransport(ctx, a.conn, opts...)
}

func (a *pipeAllocator) Wait() {}

// PID is the Chromium process's ID (its process group's too).
func (b *Browser) PID() int { return b.cmd.Process.Pid }

// Exited is closed when Chromium's process has ended.
func (b *Browser) Exited() <-chan struct{} { return b.exited }

// Profile is the browser's profile directory (removed by Close).
func (b *Browser) Profile() string { return b.profile }

// run runs a CDP action on b's tab, failing fast when the process is gone.
func run[T any](ctx context.Context, b *Browser, a chromedp.Action[T]) (T, error) {
	var zero T
	select {
	case <-b.exited:
		return zero, ErrExited
	default:
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := chromedp.Run(b.tab, a)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && ctx.Err() == nil {
			// CDP breaks as the process dies: say which happened.
			select {
			case <-b.exited:
				return zero, fmt.Errorf("%w: %v", ErrExited, r.err)
			case <-time.After(2 * time.Second):
			}
		}
		return r.v, r.err
	case <-b.exited:
		return zero, ErrExited
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Close ends the CDP session, kills Chromium's process group by its ID,
// waits for the process and removes the profile directory. It is safe to
// call more than once and after Chromium died.
func (b *Browser) Close() {
	b.closeOnce.Do(func() {
		if b.tabCancel != nil {
			b.tabCancel()
			b.allocCancel()
		}
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
			b.log.Warn("chromium did not exit within 10 s of SIGKILL", "pid", b.cmd.Process.Pid)
		}
		// The group's other processes (renderers, zygote), orphaned by
		// the leader's death, are reaped by init a moment later: wait
		// until none is left, so Close returns with nothing running.
		pgid := b.cmd.Process.Pid
		for range 100 {
			if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
				break
			}
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			time.Sleep(50 * time.Millisecond)
		}
		_ = os.RemoveAll(b.tmp)
		for range 20 {
			if err := os.RemoveAll(b.profile); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// Media makes the fake camera and microphone files from a video clip and
// an audio clip with ffmpeg, into dir: Chromium's file capture reads Y4M
// (raw I420) and WAV (PCM).
func Media(ctx context.Context, dir, videoClip, audioClip string) (video, audio string, err error) {
	video = filepath.Join(dir, "camera.y4m")
	audio = filepath.Join(dir, "microphone.wav")
	for _, c := range [][]string{
		{"-i", videoClip, "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", video},
		{"-i", audioClip, "-ar", "48000", "-ac", "1", "-c:a", "pcm_s16le", audio},
	} {
		args := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, c...)
		if out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("browser media: ffmpeg %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return video, audio, nil
}
