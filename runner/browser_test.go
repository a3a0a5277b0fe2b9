package runner_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
)

// chromeCall is the scenario: Chromium behind a symmetric NAT
// and a pion client behind a port-restricted cone call through coturn.
const chromeCall = `name: chrome-behind-symmetric-nat
duration: 15s
topology: p2p
backend: kernel
participants:
  - name: alice
    client: chromium
    nat: symmetric
    downlink: {loss: 3%, delay: 40ms, jitter: 10ms}
  - name: bob
    nat: port-restricted-cone
    publish: [audio, video]
    downlink: {loss: 3%, delay: 20ms, jitter: 5ms}
servers:
  turn: coturn
`

func requireBrowserPeers(t *testing.T) {
	t.Helper()
	if err := kernel.Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
	for _, b := range []string{"chromium", "ffmpeg", "turnserver"} {
		realpeer.Binary(t, b)
	}
}

func runChrome(t *testing.T, yaml string, opt runner.Options) (*reports.Report, error) {
	t.Helper()
	s, err := scenarios.Parse("chrome.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	opt.Clock = runner.ClockReal
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return runner.Run(ctx, s, opt)
}

// TestChromiumBehindSymmetricNAT: the path is relay, the report carries
// both clients' numbers, and Chromium's getStats loss, jitter and RTT
// agree with rtclab's capture-based figures within the stated
// tolerances (runner/browser.go: loss 1 point, jitter max(3 ms, 35 %),
// RTT max(25 ms, 50 %)).
func TestChromiumBehindSymmetricNAT(t *testing.T) {
	requireBrowserPeers(t)
	t.Setenv("TMPDIR", t.TempDir())
	began := time.Now()
	rep, err := runChrome(t, chromeCall, runner.Options{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("took %v", time.Since(began).Round(time.Second))
	var text strings.Builder
	_ = reports.WriteText(&text, rep)
	t.Log(text.String())
	parts := map[string]reports.Participant{}
	for _, p := range rep.Participants {
		parts[p.Name] = p
	}
	alice, bob := parts["alice"], parts["bob"]
	if !alice.Connected || !bob.Connected {
		t.Fatalf("connected: alice %v, bob %v", alice.Connected, bob.Connected)
	}
	if sp := alice.SelectedPair; sp == nil || sp.Local != "relay" {
		t.Errorf("Chromium behind a symmetric NAT: path %+v, want its relay candidate", sp)
	}
	streams := map[string]reports.Stream{}
	for _, s := range rep.Streams {
		streams[s.From+"->"+s.To+" "+s.Kind] = s
	}
	for _, k := range []string{"alice->bob audio", "alice->bob video", "bob->alice audio", "bob->alice video"} {
		if s, ok := streams[k]; !ok || s.PacketsReceived < 100 {
			t.Errorf("%s: %+v, want the stream in the report", k, s)
		}
	}
	if len(rep.Browsers) != 1 {
		t.Fatalf("browsers %+v", rep.Browsers)
	}
	kinds := map[string]bool{}
	for _, r := range rep.Browsers[0].Rows {
		kinds[strings.Fields(r.What)[0]] = true
		// Both links lose 3 %: a recount that missed the loss (or read
		// the wrong link) would agree with nothing.
		if strings.HasPrefix(r.What, "loss_fraction") && r.Capture < 0.01 {
			t.Errorf("%s: the capture shows %.4f, under links that lose 3 %%", r.What, r.Capture)
		}
		if !r.Agree {
			t.Errorf("getStats and the capture disagree: %+v", r)
		}
	}
	for _, k := range []string{"loss_fraction", "jitter_ms", "rtt_ms"} {
		if !kinds[k] {
			t.Errorf("no %s row in the cross-check: %+v", k, rep.Browsers[0].Rows)
		}
	}
	if n := rep.Browsers[0].Samples; n < 5 {
		t.Errorf("%d getStats samples, want one a second", n)
	}
	leftovers(t)
}

// TestChromiumKilledMidRun: kill -9 of Chromium mid-run ends the run
// with a partial report, and nothing is left behind: no process of the
// browser, no profile or media files, no namespace.
func TestChromiumKilledMidRun(t *testing.T) {
	requireBrowserPeers(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	pr, pw := io.Pipe()
	killed := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`started, pid (\d+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				pid, _ := strconv.Atoi(m[1])
				time.AfterFunc(6*time.Second, func() { _ = syscall.Kill(pid, syscall.SIGKILL); killed <- pid })
			}
		}
	}()
	rep, err := runChrome(t, strings.Replace(chromeCall, "duration: 15s", "duration: 60s", 1), runner.Options{Events: pw})
	pw.Close()
	if err == nil || !strings.Contains(err.Error(), "chromium alice exited") {
		t.Fatalf("run ended with %v, want the browser's death", err)
	}
	pid := <-killed
	if !rep.Partial || len(rep.Browsers) != 1 || !rep.Browsers[0].Exited {
		t.Errorf("report: partial %v, browsers %+v; want a partial report saying the browser exited", rep.Partial, rep.Browsers)
	}
	if rep.WallSeconds > 40 {
		t.Errorf("the run took %.0f s after a kill at 6 s of the call", rep.WallSeconds)
	}
	if err := syscall.Kill(-pid, 0); err == nil {
		t.Errorf("Chromium's process group %d is still there", pid)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("left in TMPDIR: %v", ents)
	}
	leftovers(t)
}

// leftovers fails when a namespace of this process or a Chromium is left.
func leftovers(t *testing.T) {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "list").Output()
	if mine := "rtclabk-" + strconv.Itoa(os.Getpid()) + "-"; strings.Contains(string(out), mine) {
		t.Errorf("namespaces left: %s", out)
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		cmd, err := os.ReadFile("/proc/" + p.Name() + "/cmdline")
		// Only this test's: its browsers and ffmpeg work under the TMPDIR
		// it set, and other test binaries on the machine (another
		// package's, another checkout's) may be running Chromium too.
		if err == nil && strings.Contains(string(cmd), "rtclab-chromium-") && strings.Contains(string(cmd), os.TempDir()) {
			t.Errorf("process %s left: %s", p.Name(), strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
}
