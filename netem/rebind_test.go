package netem

import (
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// A rebinding gives the host's socket a new external port (RFC 4787
// section 4.3): the server sees the next packet from a new address, the
// program's socket keeps its local address, and what the server sends to
// the old mapping is lost.
func TestRebind(t *testing.T) {
	for _, nat := range []NAT{FullCone, PortRestrictedCone, Symmetric, Open} {
		t.Run(string(nat), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n, err := New(Config{Servers: []string{"s"}, Hosts: []HostConfig{{Name: "c", NAT: nat, Rebindable: true}, {Name: "d", NAT: nat}}})
				if err != nil {
					t.Fatal(err)
				}
				defer n.Close()
				s, _ := n.Host("s")
				c, _ := n.Host("c")
				srv := echo(t, s, 7000)
				conn, err := c.Net.ListenPacket("udp4", "0.0.0.0:0")
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				local := conn.LocalAddr().String()
				// sc is a second server socket the client has contacted,
				// so every NAT's filter lets its packets in.
				sc, err := s.Net.ListenPacket("udp4", s.IP.String()+":7001")
				if err != nil {
					t.Fatal(err)
				}
				defer sc.Close()
				scAddr := sc.LocalAddr()
				if _, err := conn.WriteTo([]byte("hello"), scAddr); err != nil {
					t.Fatal(err)
				}
				before := mapped(t, conn, srv)
				if before == "" {
					t.Fatal("no answer before the rebinding")
				}
				old, _ := net.ResolveUDPAddr("udp4", before)
				buf := make([]byte, 100)
				if _, from, err := sc.ReadFrom(buf); err != nil || (nat != Symmetric && from.String() != old.String()) {
					t.Fatalf("server socket 2 saw %v (%v), want %s", from, err, old)
				}
				// Before the rebinding, it reaches the client.
				if _, err := sc.WriteTo([]byte("ping"), old); err != nil {
					t.Fatal(err)
				}
				_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				if nat != Symmetric {
					if _, _, err := conn.ReadFrom(buf); err != nil {
						t.Fatalf("before the rebinding: %v", err)
					}
				}
				if d, _ := n.Host("d"); d != nil {
					if _, err := d.Rebind(); !errors.Is(err, ErrUnsupported) {
						t.Errorf("rebinding a host not declared rebindable: %v", err)
					}
				}
				moved, err := c.Rebind()
				if err != nil || moved != 1 {
					t.Fatalf("Rebind moved %d sockets, err %v; want 1", moved, err)
				}
				// After it, the same packet to the old mapping is lost.
				if _, err := sc.WriteTo([]byte("to the old mapping"), old); err != nil {
					t.Fatal(err)
				}
				_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				if n, _, err := conn.ReadFrom(make([]byte, 100)); err == nil {
					t.Errorf("got %d bytes sent to the old mapping", n)
				}
				after := mapped(t, conn, srv)
				if after == "" || after == before {
					t.Errorf("mapped %s before, %s after; want a new port", before, after)
				}
				if a, b := hostOf(after), hostOf(before); a != b {
					t.Errorf("public address changed from %s to %s; only the port should", b, a)
				}
				if got := conn.LocalAddr().String(); got != local {
					t.Errorf("local address %s became %s", local, got)
				}
			})
		})
	}
}

// hostOf is the IP of host:port.
func hostOf(hostport string) string {
	h, _, _ := net.SplitHostPort(hostport)
	return h
}
