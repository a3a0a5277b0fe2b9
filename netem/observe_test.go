package netem

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"testing/synctest"
)

// Observe sees what a capture records, at the host that sent and at the
// host that received, with the addresses each saw: the client's inside
// address when it sends, its NAT mapping when the server receives. With
// no pcap writer behind it, it writes nothing.
func TestObserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		seen := map[string][]Packet{}
		var pcap bytes.Buffer
		sCap, err := NewCapture(&pcap)
		if err != nil {
			t.Fatal(err)
		}
		header := pcap.Len()
		n, err := New(Config{Servers: []string{"s"}, Hosts: []HostConfig{{Name: "c", NAT: Symmetric}},
			Capture: func(host string) *Capture {
				var c *Capture
				if host == "s" {
					c = sCap
				}
				return Observe(c, func(p Packet) {
					mu.Lock()
					defer mu.Unlock()
					p.Payload = append([]byte(nil), p.Payload...)
					seen[host] = append(seen[host], p)
				})
			}})
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
		if m := mapped(t, conn, srv); m == "" {
			t.Fatal("no answer")
		}
		mu.Lock()
		defer mu.Unlock()
		src := func(p Packet) string { return p.Src.(*net.UDPAddr).IP.String() }
		// c: its request (from its inside address) and the answer.
		if got := seen["c"]; len(got) != 2 || src(got[0]) != c.IP.String() || string(got[0].Payload) != "x" || src(got[1]) != s.IP.String() {
			t.Errorf("c observed %+v", got)
		}
		// s: the request from c's NAT mapping, and its answer.
		if got := seen["s"]; len(got) != 2 || src(got[0]) != c.PublicIP.String() || got[0].TCP {
			t.Errorf("s observed %+v, want the request from %s first", got, c.PublicIP)
		}
		if pcap.Len() <= header {
			t.Error("the observed capture of s wrote no pcap records")
		}
	})
}
