package kernel

import (
	"bufio"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/netem"
)

// TestForwardLoopback: hosts behind NATs reach UDP and TCP echo servers
// on this machine's loopback (started by the test, outside the run's
// namespaces) through a Forwarder on a server's address; two clients get
// distinct sources at the target (one socket each); a target that is not
// loopback is refused; Close ends every goroutine. Under a second.
func TestForwardLoopback(t *testing.T) {
	n := newNetwork(t, netem.Config{Servers: []string{"turn"}, Hosts: []netem.HostConfig{
		{Name: "a", NAT: netem.Symmetric}, {Name: "b", NAT: netem.UDPBlocked}}})
	leakcheck.Check(t)
	// Echo servers on loopback: UDP answers with the source it saw.
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	port := u.LocalAddr().(*net.UDPAddr).Port
	tl, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Skipf("TCP port %d taken on loopback: %v", port, err)
	}
	defer tl.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := u.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = u.WriteTo([]byte(from.String()), from)
		}
	}()
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = c.Write([]byte("tcp " + line))
			}()
		}
	}()
	if _, err := n.ForwardLoopback("turn", port, netip.MustParseAddrPort("198.51.100.10:1")); err == nil {
		t.Error("a forwarder to a non-loopback address was started")
	}
	f, err := n.ForwardLoopback("turn", port, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	turn, _ := n.Host("turn")
	dst := &net.UDPAddr{IP: turn.IP, Port: port}
	a, _ := n.Host("a")
	b, _ := n.Host("b")
	seen1 := ask(t, a, dst)
	seen2 := ask(t, a, dst)
	if seen1 == "" || seen2 == "" || seen1 == seen2 {
		t.Errorf("the loopback server saw a's two sockets as %q and %q, want two loopback sources", seen1, seen2)
	}
	if ap, err := netip.ParseAddrPort(seen1); err != nil || !ap.Addr().IsLoopback() {
		t.Errorf("the loopback server saw %q", seen1)
	}
	if got := ask(t, b, dst); got != "" {
		t.Errorf("b's UDP got through its UDP-blocking firewall: %q", got)
	}
	dial, _ := n.DialContext("b")
	c, err := dial(t.Context(), "tcp4", dst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "tcp hello\n" {
		t.Errorf("TCP through the forwarder: %q, %v", line, err)
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}
}
