package netem

import (
	"errors"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var mdnsGroup = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

// recvAll reads what c receives within a second of virtual time.
func recvAll(c net.PacketConn) []string {
	var got []string
	buf := make([]byte, 1500)
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return got
		}
		got = append(got, from.String()+" "+string(buf[:n]))
	}
}

// Hosts naming one LAN share its NAT: one outside address, private
// addresses that reach each other directly. Multicast reaches the other
// hosts of the LAN (and the sender's other sockets), never a host on
// another LAN, and crosses the sender's uplink (a lossy uplink loses it).
func TestLANMulticast(t *testing.T) {
	tests := []struct {
		name   string
		nat    NAT
		uplink Impairment
		want   map[string]int // datagrams each listener gets
	}{
		{"behind one NAT", PortRestrictedCone, Impairment{}, map[string]int{"a2": 1, "b": 1, "c": 0, "d": 0}},
		{"open hosts side by side", Open, Impairment{}, map[string]int{"a2": 1, "b": 1, "c": 0, "d": 0}},
		{"sender's uplink loses all", PortRestrictedCone, Impairment{Loss: 1}, map[string]int{"a2": 1, "b": 0, "c": 0, "d": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				captured := map[string]string{} // host -> "src > dst" of the query
				obs := func(host string) *Capture {
					return Observe(nil, func(p Packet) {
						if string(p.Payload) == "query" {
							mu.Lock()
							captured[host] += p.Src.String() + " > " + p.Dst.String() + ";"
							mu.Unlock()
						}
					})
				}
				n, err := New(Config{Seed: 1, Capture: obs, Hosts: []HostConfig{
					{Name: "a", NAT: tt.nat, LAN: "home", Uplink: tt.uplink},
					{Name: "b", NAT: tt.nat, LAN: "home"},
					{Name: "c", NAT: tt.nat, LAN: "office"},
					{Name: "d", NAT: tt.nat},
				}})
				if err != nil {
					t.Fatal(err)
				}
				defer n.Close()
				a, _ := n.Host("a")
				b, _ := n.Host("b")
				if tt.nat != Open {
					if a.IP.Equal(b.IP) || !a.PublicIP.Equal(b.PublicIP) {
						t.Fatalf("a %s/%s, b %s/%s: want two inside addresses behind one outside address", a.IP, a.PublicIP, b.IP, b.PublicIP)
					}
				}
				listeners := map[string]net.PacketConn{}
				for _, name := range []string{"a", "a2", "b", "c", "d"} {
					host := name[:1]
					h, _ := n.Host(host)
					c, err := h.Net.ListenUDP("udp4", mdnsGroup)
					if host == "d" {
						// No LAN: a multicast address is no address of its own.
						if err == nil {
							c.Close()
							t.Fatal("host d with no LAN listened on a multicast group")
						}
						c, err = h.Net.ListenUDP("udp4", &net.UDPAddr{IP: h.IP, Port: 5353})
					}
					if err != nil {
						t.Fatal(name, err)
					}
					defer c.Close()
					listeners[name] = c
				}
				if _, err := listeners["a"].WriteTo([]byte("query"), mdnsGroup); err != nil {
					t.Fatal(err)
				}
				counts := map[string]chan int{}
				for name, c := range listeners {
					if name == "a" {
						continue
					}
					ch := make(chan int, 1)
					counts[name] = ch
					go func() {
						got := recvAll(c)
						for _, g := range got {
							if g != (&net.UDPAddr{IP: a.IP, Port: 5353}).String()+" query" {
								t.Errorf("%s got %q", name, g)
							}
						}
						ch <- len(got)
					}()
				}
				for name, ch := range counts {
					if got := <-ch; got != tt.want[name] {
						t.Errorf("%s got %d datagrams, want %d", name, got, tt.want[name])
					}
				}
				// Both captures show the datagram as sent to the group.
				want := (&net.UDPAddr{IP: a.IP, Port: 5353}).String() + " > 224.0.0.251:5353;"
				mu.Lock()
				if captured["a"] != want+want || tt.want["b"] == 1 && captured["b"] != want {
					t.Errorf("captures: a %q, b %q; want %q at each socket", captured["a"], captured["b"], want)
				}
				mu.Unlock()
				// Unicast between LAN hosts: b answers a at a's inside address.
				if tt.nat != Open && tt.uplink.Loss == 0 {
					srv := echo(t, b, 7000)
					conn, err := a.Net.ListenPacket("udp4", "0.0.0.0:0")
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close()
					if got := mapped(t, conn, srv); got == "" || !net.ParseIP(got[:len(got)-5]).Equal(a.IP) {
						t.Errorf("b saw a as %q, want its inside address %s", got, a.IP)
					}
				}
			})
		})
	}
}

// A LAN has one NAT: a host declaring another is a config error.
func TestLANOneNAT(t *testing.T) {
	_, err := New(Config{Hosts: []HostConfig{
		{Name: "a", NAT: Symmetric, LAN: "home"},
		{Name: "b", NAT: FullCone, LAN: "home"},
	}})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
	t.Log(err)
}

// Two hosts behind one NAT reach each other through its outside address
// too: vnet routes a packet for the NAT's own outside address back in
// (hairpinning, RFC 4787 REQ-9), for every preset that maps
// endpoint-independently; NATConfig.Hairpinning cannot turn it off.
func TestLANHairpin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := New(Config{Seed: 1, Servers: []string{"s"}, Hosts: []HostConfig{
			{Name: "a", NAT: PortRestrictedCone, LAN: "home"},
			{Name: "b", NAT: PortRestrictedCone, LAN: "home"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		s, _ := n.Host("s")
		a, _ := n.Host("a")
		b, _ := n.Host("b")
		srv := echo(t, s, 7000)
		bc, err := b.Net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer bc.Close()
		mapping := mapped(t, bc, srv) // b's outside address:port
		ua, err := net.ResolveUDPAddr("udp4", mapping)
		if err != nil {
			t.Fatal(mapping, err)
		}
		ac, err := a.Net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ac.Close()
		aMapping := mapped(t, ac, srv)
		// b opens its filter for a's outside address, then a sends to b's.
		if _, err := bc.WriteTo([]byte("open"), mustUDP(t, aMapping)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // through b's NAT first
		if _, err := ac.WriteTo([]byte("hairpin"), ua); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		_ = bc.SetReadDeadline(time.Now().Add(time.Second))
		k, from, err := bc.ReadFrom(buf)
		if err != nil || string(buf[:k]) != "hairpin" {
			t.Fatalf("b got %q from %v, %v; want a's packet through the NAT", buf[:k], from, err)
		}
		if from.String() != aMapping {
			t.Errorf("b saw it from %s, want a's outside address %s", from, aMapping)
		}
	})
}

func mustUDP(t *testing.T, s string) *net.UDPAddr {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp4", s)
	if err != nil {
		t.Fatal(s, err)
	}
	return a
}
