package kernel

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rtclab/rtclab/netem"
)

// TestRebind rebinds each NAT behaviour under a socket that keeps its
// local address (RFC 4787 section 4.3): the server then sees a new
// address:port from the same socket, the old mapping no longer reaches
// the host, and the NAT still filters as before at the new mapping (a
// full cone lets anyone in there). Twice, so the second epoch differs
// from the first too. Fails if Rebind leaves the mappings as they were.
func TestRebind(t *testing.T) {
	adm, apdm := netem.AddressDependent, netem.AddressAndPortDependent
	cases := []struct {
		hc        netem.HostConfig
		otherAddr bool // a server never sent to reaches the new mapping
	}{
		{netem.HostConfig{NAT: netem.FullCone}, true},
		{netem.HostConfig{NAT: netem.RestrictedCone}, false},
		{netem.HostConfig{NAT: netem.PortRestrictedCone}, false},
		{netem.HostConfig{NAT: netem.Symmetric}, false},
		{netem.HostConfig{NAT: netem.DoubleNAT}, false},
		{netem.HostConfig{Name: "adm", HomeNAT: &netem.NATConfig{Mapping: adm, Filtering: apdm}}, false},
	}
	var hosts []netem.HostConfig
	for i := range cases {
		if cases[i].hc.Name == "" {
			cases[i].hc.Name = string(cases[i].hc.NAT)
		}
		cases[i].hc.Rebindable = true
		hosts = append(hosts, cases[i].hc)
	}
	n := newNetwork(t, netem.Config{Servers: []string{"s1", "s3"}, Hosts: hosts})
	s1, _ := n.Host("s1")
	s3, _ := n.Host("s3")
	echo(t, s1, 7000)
	srv := &net.UDPAddr{IP: s1.IP, Port: 7000}
	for _, tc := range cases {
		t.Run(tc.hc.Name, func(t *testing.T) {
			h, _ := n.Host(tc.hc.Name)
			c, err := h.Net.ListenUDP("udp4", &net.UDPAddr{IP: h.IP})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			seen := map[string]bool{}
			before := mappedBy(t, c, srv)
			seen[before] = true
			for epoch := 1; epoch <= 2; epoch++ {
				k, err := h.Rebind()
				if err != nil {
					t.Fatal(err)
				}
				if k < 1 {
					t.Errorf("epoch %d: %d UDP sockets counted, want at least this one", epoch, k)
				}
				after := mappedBy(t, c, srv)
				if seen[after] {
					t.Errorf("epoch %d: still mapped to %s (mappings so far %v)", epoch, after, seen)
				}
				seen[after] = true
				old, _ := net.ResolveUDPAddr("udp4", before)
				if echoReaches(t, s1, 7000, c, old) {
					t.Errorf("epoch %d: the server's packet to the old mapping %s arrived", epoch, old)
				}
				now, _ := net.ResolveUDPAddr("udp4", after)
				if !echoReaches(t, s1, 7000, c, now) {
					t.Errorf("epoch %d: the server's packet to the new mapping %s was lost", epoch, now)
				}
				if got := reaches(t, s3, c, now); got != tc.otherAddr {
					t.Errorf("epoch %d: s3 reached the new mapping: %v, want %v", epoch, got, tc.otherAddr)
				}
				before = after
			}
		})
	}
	// A TCP connection (a browser's signaling) outlives its host's
	// rebindings, as in-process, even when the server speaks first after
	// one: with TCP in the rebinding's new conntrack zone the NAT dropped
	// the server's segments as unsolicited (a run with a rebound Chromium
	// then hung at its end in the signaling server's shutdown).
	t.Run("tcp survives", func(t *testing.T) {
		l, err := s1.Net.ListenTCP("tcp4", &net.TCPAddr{IP: s1.IP, Port: 7010})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		push := make(chan struct{})
		ended := make(chan struct{})
		accepted := make(chan net.Conn, 1)
		go func() {
			defer close(ended)
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
			defer c.Close()
			for range push {
				if _, err := c.Write([]byte("push\n")); err != nil {
					return
				}
			}
			_, _ = io.Copy(io.Discard, c) // until the client's end
		}()
		h, _ := n.Host(string(netem.PortRestrictedCone))
		dial, _ := n.DialContext(h.Name)
		c, err := dial(t.Context(), "tcp4", (&net.TCPAddr{IP: s1.IP, Port: 7010}).String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 5)
		for i := range 2 {
			if _, err := h.Rebind(); err != nil {
				t.Fatal(err)
			}
			push <- struct{}{}
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "push\n" {
				t.Errorf("after rebind %d the server's push: %q, %v", i+1, buf, err)
				break
			}
		}
		close(push)
		// The end of the connection reaches the server.
		_ = c.Close()
		select {
		case <-ended:
		case <-time.After(3 * time.Second):
			t.Error("the server never saw the connection end")
			if sc, ok := <-accepted; ok {
				_ = sc.Close()
			}
			<-ended
		}
	})
	t.Run("open host", func(t *testing.T) {
		require(t)
		_, err := New(netem.Config{Hosts: []netem.HostConfig{{Name: "o", Rebindable: true}}}, Options{})
		if !errors.Is(err, netem.ErrUnsupported) {
			t.Errorf("a rebindable open host: %v, want ErrUnsupported", err)
		}
	})
}

// echoReaches reports whether "poke" from the echo server at
// from:port, sent to the mapping to, arrives at c.
func echoReaches(t *testing.T, from *netem.Host, port int, c net.PacketConn, to *net.UDPAddr) bool {
	t.Helper()
	p, err := from.Net.ListenUDP("udp4", &net.UDPAddr{IP: from.IP})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.WriteTo([]byte("to "+to.String()), &net.UDPAddr{IP: from.IP, Port: port}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	for {
		k, src, err := c.ReadFrom(buf)
		if err != nil {
			return false
		}
		if string(buf[:k]) == "poke" && src.String() == (&net.UDPAddr{IP: from.IP, Port: port}).String() {
			return true
		}
	}
}
