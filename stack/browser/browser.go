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
	"github.com/chromedp/chromedp/remote"
)

// Flags are the command-line flags every participant's Chromium runs
// with besides its profile directory and media files: headless, no
// background traffic of its own, fake media devices that need no
// permission prompt, and host candidates on loopback (the only network
// a test on this machine may use).
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
	"--allow-loopback-in-peer-connection",
	"--disable-features=WebRtcHideLocalIpsWithMdns",
	"--autoplay-policy=no-user-gesture-required",
	"--remote-debugging-port=0",
}

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
	// (ip netns exec). Its DevTools port must then be reachable from
	// rtclab's namespace.
	Netns string
	// Log receives what the browser does; nil discards.
	Log *slog.Logger
}

// Browser is a running Chromium.
type Browser struct {
	cmd     *exec.Cmd
	profile string
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
	args = append(args, "--user-data-dir="+profile,
		"--use-file-for-fake-video-capture="+p.Video,
		"--use-file-for-fake-audio-capture="+p.Audio,
		"about:blank")
	if p.Netns != "" {
		args = append([]string{"netns", "exec", p.Netns, bin}, args...)
		bin = "ip"
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cmd := exec.Command(bin, args...)
	// Its own process group, so Close kills the renderers and the zygote
	// with it, by that group's ID.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = os.RemoveAll(profile)
		return nil, fmt.Errorf("browser: %w", err)
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(profile)
		return nil, fmt.Errorf("browser: start %s: %w", bin, err)
	}
	b := &Browser{cmd: cmd, profile: profile, log: log, exited: make(chan struct{})}
	wsURL := make(chan string, 1)
	go func() {
		// Chromium prints "DevTools listening on ws://..." on stderr; the
		// rest is logged.
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "ws://"); !sent && strings.HasPrefix(line, "DevTools listening on") && i >= 0 {
				wsURL <- strings.TrimSpace(line[i:])
				sent = true
				continue
			}
			log.Debug("chromium", "line", line)
		}
		b.waitErr = cmd.Wait()
		close(b.exited)
	}()
	var u string
	select {
	case u = <-wsURL:
	case <-b.exited:
		b.Close()
		return nil, fmt.Errorf("%w before DevTools came up: %v", ErrExited, b.waitErr)
	case <-time.After(30 * time.Second):
		b.Close()
		return nil, errors.New("browser: no DevTools endpoint from chromium within 30 s")
	case <-ctx.Done():
		b.Close()
		return nil, ctx.Err()
	}
	allocCtx, allocCancel := remote.NewAllocator(context.Background(), u, remote.NoModifyURL)
	tab, tabCancel := chromedp.NewContext(allocCtx)
	b.allocCancel, b.tabCancel, b.tab = allocCancel, tabCancel, tab
	if err := chromedp.Do(tab); err != nil {
		b.Close()
		return nil, fmt.Errorf("browser: CDP connect: %w", err)
	}
	log.Info("chromium started", "pid", cmd.Process.Pid, "profile", profile)
	return b, nil
}

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
