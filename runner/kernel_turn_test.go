package runner

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/verify"
)

// freeLoopbackPort returns a port free for both UDP and TCP on 127.0.0.1.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free loopback port")
	return 0
}

// hostCoturn starts coturn on 127.0.0.1:port of this machine's own
// namespace, outside every namespace of a run, and stops it by its PID
// when the test ends. It relays on 127.0.0.1 and lets peers on loopback
// in (allow-loopback-peers: the relayed addresses of both ends are
// there). It returns coturn's log file.
func hostCoturn(t *testing.T, port int, secret string) string {
	t.Helper()
	realpeer.Binary(t, "turnserver")
	dir := t.TempDir()
	ip := net.IPv4(127, 0, 0, 1)
	conf := filepath.Join(dir, CoturnConfig)
	if err := os.WriteFile(conf, []byte(coturnConf(ip, port, secret, dir)+"allow-loopback-peers\nverbose\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("turnserver", "-c", conf)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	sn, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	if err := waitBinding(context.Background(), sn, &net.UDPAddr{IP: ip, Port: port}, done); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "turnserver.log"))
		t.Fatalf("coturn on %s:%d: %v\n%s", ip, port, err, lastLines(string(log), 10))
	}
	return filepath.Join(dir, "turnserver.log")
}

// TestKernelCallThroughLoopbackTURN: a user's TURN server on this
// machine's loopback (coturn, started by the test outside the run's
// namespaces) named by servers.turn {url: turn:127.0.0.1:PORT}. No
// namespace of the run reaches that loopback; rtclab forwards from the
// TURN host's address (UDP for alice behind a symmetric NAT, TCP for bob
// behind a UDP-blocking firewall). Checked: both relay through it (relay
// only), every stream carries media, coturn's own log shows an
// allocation per participant, and the TURN host's capture holds both
// participants' traffic to the forwarder. Without the forwarder nothing
// connects. About 9 s.
func TestKernelCallThroughLoopbackTURN(t *testing.T) {
	if err := kernel.Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
	const secret = "kernel-loopback-secret"
	port := freeLoopbackPort(t)
	logFile := hostCoturn(t, port, secret)
	leakcheck.Check(t) // the forwarder's goroutines end with the run
	src := fmt.Sprintf(`name: kernel-loopback-turn
topology: p2p
duration: 5s
backend: kernel
servers: {turn: {url: "turn:127.0.0.1:%d", secret: %s}}
ice: {stun: false, turn: true, relay_only: true, turn_tcp: true}
participants:
  - name: alice
    nat: symmetric
    publish: [audio, video]
  - name: bob
    nat: udp-blocked
    publish: [audio, video]
`, port, secret)
	s, err := scenarios.Parse("loopback-turn.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rep, err := Run(context.Background(), s, Options{Clock: ClockReal, CaptureDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// alice gathers a relay over UDP and one over TCP (turn_tcp) and, in
	// real time, either pair can be nominated first (make test saw TCP);
	// bob can only relay over TCP. The forwarder's UDP and TCP paths are
	// each tested on their own in netem/kernel's TestForwardLoopback.
	want := map[string][]string{"alice": {"udp", "tcp"}, "bob": {"tcp"}}
	for _, p := range rep.Participants {
		if !p.Connected || p.SelectedPair == nil {
			t.Fatalf("%s did not connect", p.Name)
		}
		t.Logf("%s: local %s over %q", p.Name, p.SelectedPair.Local, p.SelectedPair.RelayProtocol)
		if p.SelectedPair.Local != "relay" || !slices.Contains(want[p.Name], p.SelectedPair.RelayProtocol) {
			t.Errorf("%s: local %s over %q, want a relay over %v", p.Name, p.SelectedPair.Local, p.SelectedPair.RelayProtocol, want[p.Name])
		}
	}
	if len(rep.Streams) != 4 {
		t.Errorf("%d streams, want 4", len(rep.Streams))
	}
	for _, st := range rep.Streams {
		if st.PacketsReceived < 50 {
			t.Errorf("%s->%s %s: %d packets received", st.From, st.To, st.Kind, st.PacketsReceived)
		}
	}
	// coturn's own account: an allocation per participant.
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	allocs := map[string]bool{}
	for _, m := range regexp.MustCompile(`session (\d+): .*ALLOCATE processed, success`).FindAllStringSubmatch(string(log), -1) {
		allocs[m[1]] = true
	}
	if len(allocs) < 2 {
		t.Errorf("coturn logged %d successful allocations, want one per participant at least:\n%s", len(allocs), lastLines(string(log), 20))
	}
	// The forwarder sits behind the TURN host's link: its capture holds
	// both participants' packets to the URL's port.
	f, err := os.Open(filepath.Join(dir, "turn.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ds, err := verify.ReadPcap(f)
	if err != nil {
		t.Fatal(err)
	}
	var plan netem.Addresses
	from := map[netip.Addr]int{}
	for _, d := range ds {
		if d.Dst.Port() == uint16(port) {
			from[d.Src.Addr()]++
		}
	}
	for i, name := range []string{"alice", "bob"} {
		a, _ := netip.AddrFromSlice(plan.PublicIP(i).To4())
		if from[a] == 0 {
			t.Errorf("no packet of %s (%s) to port %d in turn.pcap (sources %v)", name, a, port, from)
		}
	}
	if !strings.Contains(string(log), "127.0.0.1") {
		t.Error("coturn's log names no loopback client")
	}
}
