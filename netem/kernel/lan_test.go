package kernel

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/netem"
)

// TestLAN: two hosts on one LAN behind one port-restricted cone share its
// outside address and reach each other's private addresses; a multicast
// datagram (mDNS's group) from one reaches the other, not a host behind
// another NAT, and crosses the receiver's downlink (its loss drops it).
// Full and restricted cones shared by two hosts filter as for one. Fails
// if LAN is ignored (each host behind a NAT of its own). About 3 s.
func TestLAN(t *testing.T) {
	n := newNetwork(t, netem.Config{Servers: []string{"s1"}, Hosts: []netem.HostConfig{
		{Name: "a", NAT: netem.PortRestrictedCone, LAN: "home"},
		{Name: "b", NAT: netem.PortRestrictedCone, LAN: "home"},
		{Name: "c", NAT: netem.PortRestrictedCone, LAN: "c/home"},
		{Name: "d", NAT: netem.PortRestrictedCone, LAN: "home", Downlink: netem.Impairment{Loss: 1}},
	}})
	s1, _ := n.Host("s1")
	echo(t, s1, 7000)
	a, _ := n.Host("a")
	b, _ := n.Host("b")
	c, _ := n.Host("c")
	d, _ := n.Host("d")
	if !a.PublicIP.Equal(b.PublicIP) || a.IP.Equal(b.IP) || a.PublicIP.Equal(c.PublicIP) {
		t.Errorf("a %s (public %s), b %s (public %s), c public %s: want a and b behind one NAT", a.IP, a.PublicIP, b.IP, b.PublicIP, c.PublicIP)
	}
	srv := &net.UDPAddr{IP: s1.IP, Port: 7000}
	if got := ask(t, b, srv); !strings.HasPrefix(got, a.PublicIP.String()+":") {
		t.Errorf("b reached s1 as %q, want the LAN's address %s", got, a.PublicIP)
	}
	echo(t, a, 7100)
	if got := ask(t, b, &net.UDPAddr{IP: a.IP, Port: 7100}); !strings.HasPrefix(got, b.IP.String()+":") {
		t.Errorf("b asked a's private address: answer %q, want b's own private address %s", got, b.IP)
	}
	group := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	listen := func(h *netem.Host) net.PacketConn {
		l, err := h.Net.ListenUDP("udp4", group)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	la, lc, ld := listen(a), listen(c), listen(d)
	sb := listen(b)
	for range 3 {
		if _, err := sb.WriteTo([]byte("who is x.local"), group); err != nil {
			t.Fatal(err)
		}
	}
	got := func(l net.PacketConn) string {
		buf := make([]byte, 1500)
		_ = l.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		k, from, err := l.ReadFrom(buf)
		if err != nil {
			return ""
		}
		return string(buf[:k]) + " from " + from.String()
	}
	if s := got(la); s != "who is x.local from "+b.IP.String()+":5353" {
		t.Errorf("a got %q from the group", s)
	}
	if s := got(lc); s != "" {
		t.Errorf("c, on another LAN, got %q", s)
	}
	if s := got(ld); s != "" {
		t.Errorf("d, on the LAN behind a downlink that loses everything, got %q", s)
	}
	// Hairpinning (RFC 4787 section 6), as TestLANHairpin in-process: b
	// opens its port-restricted filter for a's outside mapping, then a's
	// packet to b's outside mapping comes back in to b, from a's mapping.
	t.Run("hairpin", func(t *testing.T) {
		ac, err := a.Net.ListenUDP("udp4", &net.UDPAddr{IP: a.IP})
		if err != nil {
			t.Fatal(err)
		}
		defer ac.Close()
		bc, err := b.Net.ListenUDP("udp4", &net.UDPAddr{IP: b.IP})
		if err != nil {
			t.Fatal(err)
		}
		defer bc.Close()
		am, _ := net.ResolveUDPAddr("udp4", mappedBy(t, ac, srv))
		bm, _ := net.ResolveUDPAddr("udp4", mappedBy(t, bc, srv))
		if _, err := bc.WriteTo([]byte("open"), am); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if _, err := ac.WriteTo([]byte("hairpin"), bm); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		_ = bc.SetReadDeadline(time.Now().Add(time.Second))
		for {
			k, from, err := bc.ReadFrom(buf)
			if err != nil {
				t.Fatalf("b got nothing through the hairpin: %v", err)
			}
			if string(buf[:k]) == "hairpin" {
				if from.String() != am.String() {
					t.Errorf("b saw the hairpinned packet from %s, want a's outside mapping %s", from, am)
				}
				break
			}
		}
	})
	// Full and restricted cones shared by two hosts: an unsolicited
	// packet reaches the host whose mapping it was sent to.
	t.Run("cones shared", func(t *testing.T) {
		n := newNetwork(t, netem.Config{Servers: []string{"s1", "s3"}, Hosts: []netem.HostConfig{
			{Name: "f1", NAT: netem.FullCone, LAN: "f"}, {Name: "f2", NAT: netem.FullCone, LAN: "f"},
			{Name: "r1", NAT: netem.RestrictedCone, LAN: "r"}, {Name: "r2", NAT: netem.RestrictedCone, LAN: "r"},
		}})
		s1, _ := n.Host("s1")
		s3, _ := n.Host("s3")
		echo(t, s1, 7000)
		for _, tc := range []struct {
			name      string
			otherAddr bool
		}{{"f2", true}, {"r2", false}, {"f1", true}, {"r1", false}} {
			h, _ := n.Host(tc.name)
			c, err := h.Net.ListenUDP("udp4", &net.UDPAddr{IP: h.IP})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			m, _ := net.ResolveUDPAddr("udp4", mappedBy(t, c, &net.UDPAddr{IP: s1.IP, Port: 7000}))
			if !reaches(t, s1, c, m) {
				t.Errorf("%s: s1 from another port did not reach its mapping %s", tc.name, m)
			}
			if got := reaches(t, s3, c, m); got != tc.otherAddr {
				t.Errorf("%s: s3, never sent to, reached its mapping %s: %v, want %v", tc.name, m, got, tc.otherAddr)
			}
		}
	})
}
