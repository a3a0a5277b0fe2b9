package runner

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/verify"
)

// kernelCall is the call with pion on both ends: alice behind a
// symmetric NAT with an impaired downlink, bob behind a port-restricted
// cone, through coturn in the TURN host's namespace.
const kernelCall = `name: kernel-coturn
topology: p2p
duration: 8s
backend: kernel
servers: {turn: coturn}
ice: {stun: true, turn: true, turn_tcp: false}
participants:
  - name: alice
    nat: symmetric
    publish: [audio, video]
    downlink: {loss: 3%, delay: 40ms, jitter: 10ms, rate: 1Mbps}
  - name: bob
    nat: port-restricted-cone
    publish: [audio, video]
`

// TestKernelCallThroughCoturn runs a call on the kernel backend (real
// namespaces, nftables NATs, TUN links, coturn) and checks that it
// relays, that the report's counts agree with a recount from the pcaps
// rtclab wrote on the TUN read path (package verify), and that nothing is
// left behind: coturn stopped, the namespaces gone. About 12 s.
func TestKernelCallThroughCoturn(t *testing.T) {
	if err := kernel.Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
	realpeer.Binary(t, "turnserver")
	leakcheck.Check(t) // the TUN pumps, links and coturn's waiter end with the run
	s, err := scenarios.Parse("kernel-coturn.yaml", []byte(kernelCall))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rep, err := Run(context.Background(), s, Options{Clock: ClockReal, CaptureDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scenario.Clock != ClockReal || rep.Scenario.Backend != scenarios.BackendKernel {
		t.Errorf("clock %q, backend %q", rep.Scenario.Clock, rep.Scenario.Backend)
	}
	for _, p := range rep.Participants {
		if !p.Connected || p.SelectedPair == nil {
			t.Fatalf("%s did not connect", p.Name)
		}
		if p.SelectedPair.Local != "relay" && p.SelectedPair.Remote != "relay" {
			t.Errorf("%s: path %s -> %s, want a relay", p.Name, p.SelectedPair.Local, p.SelectedPair.Remote)
		}
	}
	for _, st := range rep.Streams {
		if st.To == "alice" && st.Kind == "audio" && (st.RawLossFraction < 0.005 || st.RawLossFraction > 0.08) {
			t.Errorf("bob->alice audio raw loss %.4f through a 3%% lossy downlink", st.RawLossFraction)
		}
	}
	// coturn's config and pid file are in the run's folder; it is gone.
	pid, err := os.ReadFile(dir + "/turnserver.pid")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(string(pid))); err != nil || n <= 0 {
		t.Errorf("turnserver.pid %q", pid)
	} else if _, err := os.Stat("/proc/" + strconv.Itoa(n)); err == nil {
		t.Errorf("coturn (pid %d) still runs after the run", n)
	}
	entries, _ := os.ReadDir("/run/netns")
	mine := kernel.Prefix + strconv.Itoa(os.Getpid()) + "-"
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), mine) {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
	// An independent recount from the captures.
	res, err := verify.Recount(rep, dir, verify.Options{Tshark: "-"})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, row := range res.Rows {
		switch row.Quantity {
		case "packets_sent", "packets_received", "nack_count":
			checked++
			if !row.Agree {
				t.Errorf("%s %s: report %g, recount %g..%g (%s)", row.Stream, row.Quantity, row.Report, row.Low, row.High, row.Why)
			}
		case "jitter_ms":
			// verify's 5 % is for virtual time. Here the capture
			// stamps a packet when rtclab writes it into the host's
			// TUN device and the application when it reads it from
			// its socket: on a loaded machine the scheduler puts up
			// to a few hundred microseconds between the two, which
			// moves a jitter of 1-2 ms by more than 5 %. Allow 0.5 ms.
			checked++
			if row.Report < row.Low-row.Low*0.05-0.5 || row.Report > row.High+row.High*0.05+0.5 {
				t.Errorf("%s jitter: report %g ms, recount %g ms (±5 %% + 0.5 ms)", row.Stream, row.Report, row.Low)
			}
		}
	}
	if checked < 12 {
		t.Errorf("only %d rows recounted", checked)
	}
}

func TestTURNTarget(t *testing.T) {
	for _, tc := range []struct {
		yaml, addr, secret string
	}{
		{"", "198.51.100.10:3478", turnSecret},
		{"servers: {turn: coturn}\n", "198.51.100.10:3478", turnSecret},
		{"servers: {turn: {url: \"turn:198.51.100.20:3479?transport=udp\", secret: theirs}}\n", "198.51.100.20:3479", "theirs"},
		// On loopback: through the forwarder on the TURN host, at the URL's port.
		{"servers: {turn: {url: \"turn:127.0.0.1:40001\", secret: theirs}}\n", "198.51.100.10:40001", "theirs"},
	} {
		s, err := scenarios.Parse("t.yaml", []byte("name: t\nduration: 1s\nbackend: kernel\nparticipants: [{name: a}]\n"+tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		r := &run{s: s}
		if addr, secret := r.turnTarget("198.51.100.10:3478"); addr != tc.addr || secret != tc.secret {
			t.Errorf("%q: %s %s, want %s %s", tc.yaml, addr, secret, tc.addr, tc.secret)
		}
	}
}

// TestKernelCoturnCrash kills coturn with SIGKILL mid-call: the run goes
// on to its end, records the crash as an event, and leaves nothing
// behind. Fails if a crash goes unrecorded. About 6 s.
func TestKernelCoturnCrash(t *testing.T) {
	if err := kernel.Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
	realpeer.Binary(t, "turnserver")
	s, err := scenarios.Parse("crash.yaml", []byte(strings.Replace(kernelCall, "duration: 8s", "duration: 5s", 1)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// coturn writes its pid file once it runs; kill it 3 s in.
		time.Sleep(3 * time.Second)
		b, err := os.ReadFile(dir + "/turnserver.pid")
		if err != nil {
			t.Error(err)
			return
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Signal(syscall.SIGKILL)
		}
	}()
	rep, _ := Run(context.Background(), s, Options{Clock: ClockReal, CaptureDir: dir})
	<-done
	crashed := false
	for _, e := range rep.Events {
		if e.Source == "turn" && e.Kind == "crashed" {
			crashed = true
		}
	}
	if !crashed {
		t.Errorf("no crash event among %d events", len(rep.Events))
	}
	entries, _ := os.ReadDir("/run/netns")
	mine := kernel.Prefix + strconv.Itoa(os.Getpid()) + "-"
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), mine) {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
}
