package kernel

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/netem"
)

// require skips the test where the backend cannot run, or fails it with
// RTCLAB_REQUIRE_PEERS=1.
func require(t *testing.T) {
	t.Helper()
	if err := Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
}

func newNetwork(t *testing.T, cfg netem.Config) *Network {
	t.Helper()
	require(t)
	n, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return n
}

// echo serves UDP on the host's port and answers each datagram with the
// address it came from; "to ADDR" makes it send "poke" to ADDR instead
// (from the echo's own port: what a port-restricted cone admits).
func echo(t *testing.T, h *netem.Host, port int) {
	t.Helper()
	c, err := h.Net.ListenUDP("udp4", &net.UDPAddr{IP: h.IP, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if to, ok := strings.CutPrefix(string(buf[:n]), "to "); ok {
				if a, err := net.ResolveUDPAddr("udp4", to); err == nil {
					_, _ = c.WriteTo([]byte("poke"), a)
				}
				continue
			}
			_, _ = c.WriteTo([]byte(from.String()), from)
		}
	}()
}

// ask sends one datagram from a fresh socket of h to dst and returns the
// answer ("" on timeout).
func ask(t *testing.T, h *netem.Host, dst *net.UDPAddr) string {
	t.Helper()
	c, err := h.Net.ListenUDP("udp4", &net.UDPAddr{IP: h.IP})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1500)
	for range 3 {
		if _, err := c.WriteTo([]byte("hi"), dst); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, _, err := c.ReadFrom(buf); err == nil {
			return string(buf[:n])
		}
	}
	return ""
}

func TestReachServerThroughEveryNAT(t *testing.T) {
	var hosts []netem.HostConfig
	for _, nat := range netem.NATs {
		hosts = append(hosts, netem.HostConfig{Name: string(nat), NAT: nat})
	}
	n := newNetwork(t, netem.Config{Servers: []string{"srv"}, Hosts: hosts})
	srv, _ := n.Host("srv")
	echo(t, srv, 7000)
	dst := &net.UDPAddr{IP: srv.IP, Port: 7000}
	for _, nat := range netem.NATs {
		h, _ := n.Host(string(nat))
		got := ask(t, h, dst)
		if nat == netem.UDPBlocked {
			if got != "" {
				t.Errorf("%s: reached the server over UDP: %q", nat, got)
			}
			continue
		}
		host, _, _ := net.SplitHostPort(got)
		if host != h.PublicIP.String() {
			t.Errorf("%s: server saw %q, want the public address %s", nat, got, h.PublicIP)
		}
	}
}

// TestFidelity runs netem's fidelity suite (loss, delay, jitter, rate)
// through the kernel backend's TUN links, in real time (about 65 s).
func TestFidelity(t *testing.T) {
	require(t)
	if testing.Short() {
		t.Skip("about 65 s of real time")
	}
	res, err := netem.CheckFidelityOn(1, Builder(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("%s: %s configured %g measured %g ±%g pass %v", r.Case, r.Quantity, r.Configured, r.Measured, r.Tolerance, r.Pass)
		if !r.Pass {
			t.Errorf("%s: %s %g, configured %g ±%g (%s)", r.Case, r.Quantity, r.Measured, r.Configured, r.Tolerance, r.Why)
		}
	}
}

// TestScheduleActsOnTUNLink: a timeline's SetImpairment reaches the TUN
// link (a cut downlink drops the answers, and its stats count them), and
// Stats counts what crossed, in IP packet bytes.
func TestScheduleActsOnTUNLink(t *testing.T) {
	n := newNetwork(t, netem.Config{Servers: []string{"srv"}, Hosts: []netem.HostConfig{{Name: "h", NAT: netem.PortRestrictedCone}}})
	srv, _ := n.Host("srv")
	h, _ := n.Host("h")
	echo(t, srv, 7000)
	dst := &net.UDPAddr{IP: srv.IP, Port: 7000}
	if ask(t, h, dst) == "" {
		t.Fatal("no answer on a clean link")
	}
	if err := h.SetImpairment(netem.Downlink, netem.Impairment{Down: true}); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, h, dst); got != "" {
		t.Errorf("answer %q through a cut downlink", got)
	}
	if st := h.Stats(netem.Downlink); st.Down == 0 {
		t.Errorf("downlink stats %+v: nothing counted as down", st)
	}
	if err := h.SetImpairment(netem.Downlink, netem.Impairment{}); err != nil {
		t.Fatal(err)
	}
	if ask(t, h, dst) == "" {
		t.Error("no answer once the link is back")
	}
	up := h.Stats(netem.Uplink)
	if up.Packets < 3 || up.Bytes < up.Packets*(20+8+2) {
		t.Errorf("uplink stats %+v: want every request counted in IP bytes", up)
	}
}
