package kernel

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/netem"
)

// TestNATBehaviour checks each preset's RFC 4787 behaviour on the wire,
// independently of ICE: whether one socket keeps its outside address:port
// towards two servers (mapping, section 4.1), and which senders reach
// that mapping afterwards (filtering, section 5): another port of a
// server it sent to, or a server it never sent to.
func TestNATBehaviour(t *testing.T) {
	type want struct{ eim, otherPort, otherAddr bool }
	cases := map[netem.NAT]want{
		netem.FullCone:           {eim: true, otherPort: true, otherAddr: true},
		netem.RestrictedCone:     {eim: true, otherPort: true, otherAddr: false},
		netem.PortRestrictedCone: {eim: true, otherPort: false, otherAddr: false},
		netem.Symmetric:          {eim: false, otherPort: false, otherAddr: false},
		netem.DoubleNAT:          {eim: true, otherPort: false, otherAddr: false},
	}
	var hosts []netem.HostConfig
	for nat := range cases {
		hosts = append(hosts, netem.HostConfig{Name: string(nat), NAT: nat})
	}
	n := newNetwork(t, netem.Config{Servers: []string{"s1", "s2", "s3"}, Hosts: hosts})
	s1, _ := n.Host("s1")
	s2, _ := n.Host("s2")
	s3, _ := n.Host("s3")
	echo(t, s1, 7000)
	echo(t, s2, 7000)
	poke := func(from *netem.Host, to *net.UDPAddr) {
		c, err := from.Net.ListenUDP("udp4", &net.UDPAddr{IP: from.IP, Port: 7001})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.WriteTo([]byte("poke"), to); err != nil {
			t.Fatal(err)
		}
	}
	for nat, w := range cases {
		t.Run(string(nat), func(t *testing.T) {
			h, _ := n.Host(string(nat))
			c, err := h.Net.ListenUDP("udp4", &net.UDPAddr{IP: h.IP})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, 1500)
			mapped := func(srv *netem.Host) string {
				for range 5 {
					if _, err := c.WriteTo([]byte("map?"), &net.UDPAddr{IP: srv.IP, Port: 7000}); err != nil {
						t.Fatal(err)
					}
					_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
					if k, _, err := c.ReadFrom(buf); err == nil {
						return string(buf[:k])
					}
				}
				t.Fatalf("no answer from %s", srv.Name)
				return ""
			}
			m1, m2 := mapped(s1), mapped(s2)
			if !strings.HasPrefix(m1, h.PublicIP.String()+":") {
				t.Errorf("mapped to %s, not the public address %s", m1, h.PublicIP)
			}
			if got := m1 == m2; got != w.eim {
				t.Errorf("endpoint-independent mapping %v (to s1 %s, to s2 %s), want %v", got, m1, m2, w.eim)
			}
			to, _ := net.ResolveUDPAddr("udp4", m1)
			reached := func(from *netem.Host) bool {
				poke(from, to)
				_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				for {
					k, src, err := c.ReadFrom(buf)
					if err != nil {
						return false
					}
					if string(buf[:k]) == "poke" && src.(*net.UDPAddr).IP.Equal(from.IP) {
						return true
					}
				}
			}
			if got := reached(s1); got != w.otherPort {
				t.Errorf("s1 from another port reached the mapping: %v, want %v", got, w.otherPort)
			}
			if got := reached(s3); got != w.otherAddr {
				t.Errorf("s3, never sent to, reached the mapping: %v, want %v", got, w.otherAddr)
			}
		})
	}
}

// TestCrossingChecksKeepMapping: two port-restricted cones whose first
// packets cross (ICE checks, RFC 8445 section 2.3). a's packet reaches
// b's NAT before b has sent anything and is dropped; b's own packet to a
// must then still leave from b's one endpoint-independent mapping, the
// one a server saw, so that a's NAT (opened for exactly that
// address:port) lets it in. Fails when conntrack keeps an entry for the
// unsolicited packet, which takes the port.
func TestCrossingChecksKeepMapping(t *testing.T) {
	n := newNetwork(t, netem.Config{Servers: []string{"s1"}, Hosts: []netem.HostConfig{
		{Name: "a", NAT: netem.PortRestrictedCone}, {Name: "b", NAT: netem.PortRestrictedCone}}})
	s1, _ := n.Host("s1")
	echo(t, s1, 7000)
	a, _ := n.Host("a")
	b, _ := n.Host("b")
	open := func(h *netem.Host) (net.PacketConn, *net.UDPAddr) {
		c, err := h.Net.ListenUDP("udp4", &net.UDPAddr{IP: h.IP})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		buf := make([]byte, 100)
		for range 5 {
			_, _ = c.WriteTo([]byte("map?"), &net.UDPAddr{IP: s1.IP, Port: 7000})
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if k, _, err := c.ReadFrom(buf); err == nil {
				m, _ := net.ResolveUDPAddr("udp4", string(buf[:k]))
				return c, m
			}
		}
		t.Fatalf("%s: no answer from s1", h.Name)
		return nil, nil
	}
	ca, ma := open(a)
	cb, mb := open(b)
	// a's check first: b's NAT has no mapping for a yet and drops it.
	if _, err := ca.WriteTo([]byte("check a"), mb); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	// b's check crosses: it must come from mb, which a's NAT admits.
	buf := make([]byte, 100)
	got := ""
	for range 5 {
		_, _ = cb.WriteTo([]byte("check b"), ma)
		_ = ca.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if k, from, err := ca.ReadFrom(buf); err == nil && string(buf[:k]) == "check b" {
			got = from.String()
			break
		}
	}
	if got != mb.String() {
		t.Errorf("b's check reached a from %q, want b's mapping %s", got, mb)
	}
}
