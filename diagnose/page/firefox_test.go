package page_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/diagnose/page"
	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/internal/realpeer/loopns"
)

// firefoxPrefs make headless Firefox a customer's browser for the page:
// fake camera and microphone without a permission prompt, host
// candidates on loopback (the namespace has nothing else) with their
// addresses rather than mDNS names so the test can check them, and none
// of Firefox's own connections out (this machine has no internet).
const firefoxPrefs = `user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("media.peerconnection.ice.loopback", true);
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("app.update.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
`

// TestPageInFirefox runs the test page in headless Firefox ESR (Debian's
// firefox-esr, Gecko's WebRTC stack rather than libwebrtc's) against
// serve in a loopback-only namespace, with no driver: the page runs on
// its own and posts its results, which the test reads as serve got them.
// It checks what the customer of issue #13 gets in Firefox: TURN over UDP
// and TCP, a path to the test peer, RTT, upload and download each counted
// by its receiver against the sender's count, the camera sent, a graded
// verdict, and Firefox named as the browser.
func TestPageInFirefox(t *testing.T) {
	bin, err := exec.LookPath("firefox-esr")
	if err != nil {
		if bin, err = exec.LookPath("firefox"); err != nil {
			realpeer.Unavailable(t, "firefox-esr not installed (apt-get install -y firefox-esr)")
		}
	}
	l := &lab{ns: loopns.New(t)}
	// Firefox's ICE (nICEr) gathers host candidates only on an interface
	// it finds its default route on, never on lo alone: the namespace
	// gets a veth pair of its own, both ends inside it (10.99.0.1, the
	// customer's LAN address, and the "router" 10.99.0.2), with the
	// default route, so it has the address a machine on a LAN has.
	for _, args := range [][]string{
		{"link", "add", "lan0", "type", "veth", "peer", "name", "lan1"},
		{"addr", "add", "10.99.0.1/24", "dev", "lan0"},
		{"addr", "add", "10.99.0.2/24", "dev", "lan1"},
		{"link", "set", "lan0", "up"},
		{"link", "set", "lan1", "up"},
		{"route", "add", "default", "via", "10.99.0.2", "dev", "lan0"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", l.ns.Name}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v in %s: %v: %s", args, l.ns.Name, err, out)
		}
	}
	l.client = l.ns.Client()
	var got posts
	srv := servePage(t, l, diagnose.ServerConfig{Invites: func(context.Context, string) error { return nil }}, &got)

	profile := t.TempDir()
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(firefoxPrefs), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", l.ns.Name, bin, "--headless", "--no-remote", "--profile", profile,
		srv.Info().HTTP+page.Path+"tok?media=1")
	cmd.Env = append(os.Environ(), "HOME="+profile, "MOZ_HEADLESS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		// Firefox forks content processes: stop its whole group, by PID.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}
	defer stop()

	var res diagnose.Result
	deadline := time.Now().Add(90 * time.Second)
	for {
		got.mu.Lock()
		n, errs := len(got.results), len(got.errs)
		if n > 0 {
			res = got.results[n-1]
		}
		got.mu.Unlock()
		if errs > 0 || (n > 0 && !res.Partial) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no final result from Firefox in 90 s (%d partial ones posted)", n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("page finished in Firefox in %s", time.Since(start).Round(time.Millisecond))
	stop()
	got.mu.Lock()
	defer got.mu.Unlock()
	for _, err := range got.errs {
		t.Errorf("posted: %v", err)
	}
	if len(got.results) < 2 || !got.results[0].Partial {
		t.Errorf("%d results posted, want partial ones before the final one", len(got.results))
	}

	t.Logf("verdict %s: %s", res.Verdict.Level, res.Verdict.Summary)
	if res.Verdict.Summary == "" || len(res.Metrics) == 0 {
		t.Errorf("not graded: %+v", res.Verdict)
	}
	if res.Client == nil || !strings.Contains(res.Client.UserAgent, "Firefox") || res.Client.ObservedAddress != "127.0.0.1" {
		t.Errorf("client %+v", res.Client)
	}
	checkTURN(t, res)
	for _, p := range res.Paths {
		t.Logf("path %s: ok %v %.0f ms %s %s %s", p.Kind, p.OK, p.Ms, p.Local, p.Remote, p.Reason)
	}
	if res.BestPath == "" || res.Browser == nil {
		t.Fatalf("best path %q, browser %+v; skipped %v", res.BestPath, res.Browser, res.Skipped)
	}
	checkPing(t, res)
	checkBandwidth(t, res)
	if m := res.Browser.Media; m == nil || m.Error != "" || m.Video == nil || m.Video.PacketsSent == 0 || m.Audio == nil || m.Audio.PacketsSent == 0 ||
		m.Video.RTTMs <= 0 || m.Audio.RTTMs <= 0 {
		t.Errorf("media %+v", m)
	} else {
		t.Logf("media: video %.0f kbit/s %s, audio %.0f kbit/s, RTCP RTT video %.2f ms audio %.2f ms",
			m.Video.Kbps, m.Video.Resolution, m.Audio.Kbps, m.Video.RTTMs, m.Audio.RTTMs)
	}
	c := res.Browser.Candidates
	t.Logf("candidates: host %v, %d mDNS, srflx %v", c.Host, c.MDNS, c.Srflx)
	// Every address the page learnt is one of the namespace's own.
	own := map[string]bool{"127.0.0.1": true, "10.99.0.1": true}
	addrs := append(append([]string(nil), c.Host...), c.Srflx...)
	for _, a := range res.Local.Addresses {
		addrs = append(addrs, a.IP)
	}
	if len(c.Host) == 0 {
		t.Errorf("no host candidate gathered")
	}
	for _, a := range addrs {
		if !own[a] {
			t.Errorf("address %s is not the namespace's (all: %v)", a, addrs)
		}
	}
}
