package diagnose_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/internal/realpeer"
)

// allowedLoss is the most serve's TURN may lose under the uclient load
// that made coturn, run just before it on the same machine, lose coturn
// percent: 3 points more, plus half of coturn's own loss. What coturn
// loses says how short of CPU the machine was (a loopback run loses only
// when the servers and uclient are not scheduled in time): idle, coturn
// lost 0 % and serve had to stay under 3 % (it lost 19 % with one socket
// at the kernel's default buffer, issue #17); at a load average of 14 on
// the shared 2-core machine both lost 16-43 %, by up to 12 points either
// way from one run to the next.
func allowedLoss(coturn float64) float64 { return coturn + 3 + coturn/2 }

var (
	uclientLostRe = regexp.MustCompile(`Total lost packets (\d+) \(([\d.]+)%\)`)
	uclientSentRe = regexp.MustCompile(`tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$`)
)

// uclientLoss runs turnutils_uclient with m client pairs relaying to each
// other (-y), 2000 messages of 1000 bytes each every millisecond, and
// returns the loss it reports, checked against its own sent and received
// totals.
func uclientLoss(t *testing.T, bin, secret string, port, m int) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const msgs = 2000
	cmd := exec.CommandContext(ctx, bin, "-y", "-m", strconv.Itoa(m), "-l", "1000", "-n", strconv.Itoa(msgs),
		"-z", "1", "-W", secret, "-p", strconv.Itoa(port), "127.0.0.1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("uclient -m %d on port %d: %v\n%s", m, port, err, tail(out))
	}
	lost := uclientLostRe.FindSubmatch(out)
	var totals [][]byte
	for _, line := range regexp.MustCompile(`(?m)^.*$`).FindAll(out, -1) {
		if s := uclientSentRe.FindSubmatch(line); s != nil {
			totals = s
		}
	}
	if lost == nil || totals == nil {
		t.Fatalf("uclient -m %d: no totals in its output:\n%s", m, tail(out))
	}
	nLost, _ := strconv.Atoi(string(lost[1]))
	pct, _ := strconv.ParseFloat(string(lost[2]), 64)
	sent, _ := strconv.Atoi(string(totals[1]))
	recv, _ := strconv.Atoi(string(totals[2]))
	if sent != m*msgs {
		t.Fatalf("uclient -m %d sent %d messages, want %d", m, sent, m*msgs)
	}
	// Its loss must be what its totals say: sent - received.
	if nLost != sent-recv || abs(pct-100*float64(nLost)/float64(sent)) > 0.01 {
		t.Fatalf("uclient -m %d: lost %d (%.2f %%), but sent %d received %d", m, nLost, pct, sent, recv)
	}
	return pct
}

// socketDrops samples, every second until stop is called, the kernel's
// per-socket drop counters (/proc/net/udp, "drops": datagrams refused
// because the socket's receive buffer was full) of this process's UDP
// sockets, and returns the drops since it started on the sockets bound to
// port (serve's listening sockets) and on the others (its relay sockets,
// one per allocation, and the test's own). A socket closed between two
// samples loses what it dropped after the last one.
//
// The sampler runs in serve's process and takes CPU from it: sampling
// every 200 ms and reading all of /proc/self/fd each time cost 10-16 % of
// serve's CPU under uclient's m=200 load (perf record), so it samples once
// a second and looks up the process's sockets only when /proc/net/udp
// shows an inode it has not classified yet.
func socketDrops(t *testing.T, port int) (stop func() (listener, relay int)) {
	t.Helper()
	type sock struct{ first, last int }
	socks := map[string]*sock{} // by inode
	ports := map[string]int{}
	mine := map[string]bool{} // by inode: this process's (true) or another's
	lookup := func() {
		fds, _ := os.ReadDir("/proc/self/fd")
		for _, fd := range fds {
			if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:[") {
				mine[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
			}
		}
	}
	sample := func(first bool) {
		b, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			return
		}
		lines := strings.Split(string(b), "\n")[1:]
		for _, line := range lines {
			if f := strings.Fields(line); len(f) >= 13 {
				if _, known := mine[f[9]]; !known {
					lookup()
					break
				}
			}
		}
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) < 13 {
				continue
			}
			if _, known := mine[f[9]]; !known {
				mine[f[9]] = false // not among this process's sockets
			}
			if !mine[f[9]] {
				continue
			}
			d, _ := strconv.Atoi(f[12])
			s := socks[f[9]]
			if s == nil {
				s = &sock{}
				if first {
					s.first = d
				}
				socks[f[9]] = s
				_, hexPort, _ := strings.Cut(f[1], ":")
				p, _ := strconv.ParseInt(hexPort, 16, 32)
				ports[f[9]] = int(p)
			}
			s.last = max(s.last, d)
		}
	}
	sample(true)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample(false)
			}
		}
	}()
	return func() (listener, relay int) {
		close(done)
		wg.Wait()
		sample(false)
		for ino, s := range socks {
			if ports[ino] == port {
				listener += s.last - s.first
			} else {
				relay += s.last - s.first
			}
		}
		return listener, relay
	}
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// processCPU is the CPU time (user and system) process pid has used;
// pid 0 is this process.
func processCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	if pid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // after "pid (comm) "
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ, proc(5)
}

// coturnPID is the process of the coturn listening on port.
func coturnPID(t *testing.T, port int) int {
	t.Helper()
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmd), "\x00--listening-port\x00"+strconv.Itoa(port)+"\x00") {
			pid, _ := strconv.Atoi(d.Name())
			return pid
		}
	}
	t.Fatalf("no coturn process listening on %d", port)
	return 0
}

// TestTURNLoadAgainstCoturn relays turnutils_uclient's client-to-client
// load (-y: every client pair talks through two allocations) through
// coturn and through serve's TURN, one after the other in one run, at 100
// and 200 client pairs (200,000 and 400,000 messages of 1000 bytes), and
// requires serve to lose at most allowedLoss(coturn's loss) at m=100, in
// one of two pairs of measurements; m=200 is logged (see below). It logs
// each server's CPU time per message uclient received. With one UDP
// socket at the kernel's default 208 KiB receive buffer, serve lost
// 19-29 % at m=100 where coturn lost 0 % (issue #17).
//
// About two minutes of wall time: skipped with -short.
func TestTURNLoadAgainstCoturn(t *testing.T) {
	if testing.Short() {
		t.Skip("TURN load: about two minutes of real time")
	}
	uclient := realpeer.Binary(t, "turnutils_uclient")
	const secret = "load-secret"
	coturn := startCoturnRelays(t, secret, 2000)
	coturnProc := coturnPID(t, coturn)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := diagnose.StartServer(diagnose.ServerConfig{
		Net: n, IP: "127.0.0.1", Secret: secret, TLSPort: -1, AllowPrivatePeers: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	u, err := url.Parse(srv.Info().TURN[0])
	if err != nil {
		t.Fatal(err)
	}
	_, portText, err := net.SplitHostPort(u.Opaque) // turn:HOST:PORT?transport=udp
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := strconv.Atoi(portText)
	t.Logf("serve: %s", srv.Describe())
	// m=100 is held to coturn's loss; m=200 is measured and logged only.
	// Serve relays bound channels' data itself (stack/turn/fastpath.go: no
	// allocation per message), and uclient -y's messages between two of
	// its allocations straight to the other client (the hairpin: 7-12 µs
	// of CPU per message where coturn spends 13-16, docs/diagnose.md). Alone on an idle machine both servers lose
	// 0 % at m=200; beside one other test package serve lost 20-21 % where
	// coturn lost 1.7-7.7 % before the fast path, and beside a one-core
	// busy loop at a load of 12-23 it lost 11.6-27.6 % where coturn lost
	// 34.5-48.2 % (issue #17): which server loses more at m=200 depends on
	// how the machine is shared, so it is not a verdict. Losses are
	// receive-buffer overflows of serve's listening sockets (logged below)
	// and of uclient's own sockets.
	for _, m := range []int{100, 200} {
		// A pair of measurements is a snapshot of a machine that other
		// test packages share (go test runs them in parallel): in one
		// make test on 2 cores serve lost 47 % at m=200 where coturn had
		// lost 28 % a minute before. A server that really loses more loses
		// more every time, so a pair over the bound is measured once more
		// and the second pair decides.
		var c, s float64
		for attempt := 1; attempt <= 2; attempt++ {
			cpu0 := processCPU(t, coturnProc)
			c = uclientLoss(t, uclient, secret, coturn, m)
			coturnCPU := processCPU(t, coturnProc) - cpu0
			stop := socketDrops(t, ours)
			cpu0 = processCPU(t, 0)
			s = uclientLoss(t, uclient, secret, ours, m)
			serveCPU := processCPU(t, 0) - cpu0
			listener, relay := stop()
			perMsg := func(cpu time.Duration, loss float64) float64 {
				return float64(cpu.Microseconds()) / max(1, float64(m*2000)*(1-loss/100))
			}
			t.Logf("m=%d (pair %d): coturn lost %.2f %%, serve lost %.2f %% (%d messages; serve's listening sockets dropped %d datagrams, its relay sockets %d, the rest were lost in uclient's sockets); CPU per message received: coturn %.1f us, serve %.1f us",
				m, attempt, c, s, int(s/100*float64(m*2000)+0.5), listener, relay, perMsg(coturnCPU, c), perMsg(serveCPU, s))
			if s <= allowedLoss(c) {
				break
			}
		}
		switch {
		case s <= allowedLoss(c):
		case m == 100:
			t.Errorf("m=%d: serve lost %.2f %% of uclient's messages, coturn %.2f %%: more than the %.1f %% allowed, twice", m, s, c, allowedLoss(c))
		default:
			t.Logf("m=%d: serve lost %.2f %%, coturn %.2f %%: more than coturn (issue #17), not a failure", m, s, c)
		}
	}
}
