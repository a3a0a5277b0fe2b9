package diagnose_test

import (
	"context"
	"net"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
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

// TestTURNLoadAgainstCoturn relays turnutils_uclient's client-to-client
// load (-y: every client pair talks through two allocations) through
// coturn and through serve's TURN, one after the other in one run, at 100
// and 200 client pairs (200,000 and 400,000 messages of 1000 bytes), and
// requires serve to lose at most allowedLoss(coturn's loss) at m=100, in
// one of two pairs of measurements; m=200 is logged (see below).
// With one UDP socket at the kernel's default 208 KiB receive buffer,
// serve lost 19-29 % at m=100 where coturn lost 0 % (issue #17).
//
// About two minutes of wall time: skipped with -short.
func TestTURNLoadAgainstCoturn(t *testing.T) {
	if testing.Short() {
		t.Skip("TURN load: about two minutes of real time")
	}
	uclient := realpeer.Binary(t, "turnutils_uclient")
	const secret = "load-secret"
	coturn := startCoturnRelays(t, secret, 2000)
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
	// m=100 is held to coturn's loss; m=200 is measured and logged only:
	// alone on an idle 2-core machine both lose 0.00 %, but with another
	// test package beside it (as in make test) coturn lost 1.7-7.7 % and
	// serve 20-21 %, a gap that is still open (issue #17: pion/turn reads
	// and relays each datagram on one goroutine per socket; coturn spreads
	// relays over threads).
	for _, m := range []int{100, 200} {
		// A pair of measurements is a snapshot of a machine that other
		// test packages share (go test runs them in parallel): in one
		// make test on 2 cores serve lost 47 % at m=200 where coturn had
		// lost 28 % a minute before. A server that really loses more loses
		// more every time, so a pair over the bound is measured once more
		// and the second pair decides.
		var c, s float64
		for attempt := 1; attempt <= 2; attempt++ {
			c = uclientLoss(t, uclient, secret, coturn, m)
			s = uclientLoss(t, uclient, secret, ours, m)
			t.Logf("m=%d (pair %d): coturn lost %.2f %%, serve lost %.2f %%", m, attempt, c, s)
			if s <= allowedLoss(c) {
				break
			}
		}
		switch {
		case s <= allowedLoss(c):
		case m == 100:
			t.Errorf("m=%d: serve lost %.2f %% of uclient's messages, coturn %.2f %%: more than the %.1f %% allowed, twice", m, s, c, allowedLoss(c))
		default:
			t.Logf("m=%d: serve lost %.2f %%, coturn %.2f %%: more than coturn (known, issue #17), not a failure", m, s, c)
		}
	}
}
