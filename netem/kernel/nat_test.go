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
// towards another port of one server (mapping: address-dependent at
// most, section 4.1) and towards another server (endpoint-independent),
// and which senders reach that mapping afterwards (filtering, section 5):
// another port of a server it sent to, or a server it never sent to.
// The spelled-out address-dependent mappings fail if they are emulated
// as address-and-port-dependent (as they were).
func TestNATBehaviour(t *testing.T) {
	type want struct{ adm, eim, otherPort, otherAddr bool }
	adm, apdm := netem.AddressDependent, netem.AddressAndPortDependent
	cases := []struct {
		hc netem.HostConfig
		w  want
	}{
		{netem.HostConfig{NAT: netem.FullCone}, want{adm: true, eim: true, otherPort: true, otherAddr: true}},
		{netem.HostConfig{NAT: netem.RestrictedCone}, want{adm: true, eim: true, otherPort: true, otherAddr: false}},
		{netem.HostConfig{NAT: netem.PortRestrictedCone}, want{adm: true, eim: true}},
		{netem.HostConfig{NAT: netem.Symmetric}, want{}},
		{netem.HostConfig{NAT: netem.DoubleNAT}, want{adm: true, eim: true}},
		{netem.HostConfig{Name: "adm-apdf", HomeNAT: &netem.NATConfig{Mapping: adm, Filtering: apdm}}, want{adm: true}},
		{netem.HostConfig{Name: "adm-adf", HomeNAT: &netem.NATConfig{Mapping: adm, Filtering: adm}}, want{adm: true, otherPort: true}},
	}
	var hosts []netem.HostConfig
	for i := range cases {
		if cases[i].hc.Name == "" {
			cases[i].hc.Name = string(cases[i].hc.NAT)
		}
		hosts = append(hosts, cases[i].hc)
	}
	n := newNetwork(t, netem.Config{Servers: []string{"s1", "s2", "s3"}, Hosts: hosts})
	s1, _ := n.Host("s1")
	s2, _ := n.Host("s2")
	s3, _ := n.Host("s3")
	echo(t, s1, 7000)
	echo(t, s1, 7002)
	echo(t, s2, 7000)
	for _, tc := range cases {
		w := tc.w
		t.Run(tc.hc.Name, func(t *testing.T) {
			h, _ := n.Host(tc.hc.Name)
			c, err := h.Net.ListenUDP("udp4", &net.UDPAddr{IP: h.IP})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			m1 := mappedBy(t, c, &net.UDPAddr{IP: s1.IP, Port: 7000})
			m1b := mappedBy(t, c, &net.UDPAddr{IP: s1.IP, Port: 7002})
			m2 := mappedBy(t, c, &net.UDPAddr{IP: s2.IP, Port: 7000})
			if !strings.HasPrefix(m1, h.PublicIP.String()+":") {
				t.Errorf("mapped to %s, not the public address %s", m1, h.PublicIP)
			}
			if got := m1 == m1b; got != w.adm {
				t.Errorf("one mapping for two ports of s1: %v (%s, %s), want %v", got, m1, m1b, w.adm)
			}
			if got := m1 == m2; got != w.eim {
				t.Errorf("endpoint-independent mapping %v (to s1 %s, to s2 %s), want %v", got, m1, m2, w.eim)
			}
			to, _ := net.ResolveUDPAddr("udp4", m1)
			if got := reaches(t, s1, c, to); got != w.otherPort {
				t.Errorf("s1 from another port reached the mapping: %v, want %v", got, w.otherPort)
			}
			if got := reaches(t, s3, c, to); got != w.otherAddr {
				t.Errorf("s3, never sent to, reached the mapping: %v, want %v", got, w.otherAddr)
			}
		})
	}
}

// mappedBy sends from c to an echo server at dst until it answers, and
// returns the address:port the server saw.
func mappedBy(t *testing.T, c net.PacketConn, dst *net.UDPAddr) string {
	t.Helper()
	buf := make([]byte, 1500)
	for range 5 {
		if _, err := c.WriteTo([]byte("map?"), dst); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		for {
			k, from, err := c.ReadFrom(buf)
			if err != nil {
				break
			}
			if from.String() == dst.String() {
				return string(buf[:k])
			}
		}
	}
	t.Fatalf("no answer from %s", dst)
	return ""
}

// reaches reports whether a datagram from port 7001 of server from to
// the mapping to arrives at c.
func reaches(t *testing.T, from *netem.Host, c net.PacketConn, to *net.UDPAddr) bool {
	t.Helper()
	p, err := from.Net.ListenUDP("udp4", &net.UDPAddr{IP: from.IP, Port: 7001})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.WriteTo([]byte("poke"), to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
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
