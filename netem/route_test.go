package netem

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// natScript sends one datagram per step between sockets of clients a and b
// (each behind its NAT) and servers s1 and s2, and returns what every
// socket received, from whom: mapping, filtering, hole punching between
// the clients, a packet to a private address, hairpinning, a connected
// socket, and a mapping's expiry. viaVnet adds a rebindable host, which
// makes the network carry UDP through vnet instead of the fabric.
func natScript(t *testing.T, a, b NAT, viaVnet bool) []string {
	t.Helper()
	hosts := []HostConfig{{Name: "a", NAT: a}, {Name: "b", NAT: b}}
	if viaVnet {
		hosts = append(hosts, HostConfig{Name: "z", Rebindable: true})
	}
	n, err := New(Config{Seed: 1, Servers: []string{"s1", "s2"}, Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := n.hosts["a"].Net.(*hostNet).fabric != nil; got == viaVnet {
		t.Fatalf("fabric in use: %v, want %v", got, !viaVnet)
	}
	var mu sync.Mutex
	var log []string
	seen := map[string]*net.UDPAddr{} // "socket step" -> source seen
	socks := map[string]net.PacketConn{}
	open := func(name, host string, listen func(*hostNet) (net.PacketConn, error)) {
		h, _ := n.Host(host)
		c, err := listen(h.Net.(*hostNet))
		if err != nil {
			t.Fatal(err)
		}
		socks[name] = c
		go func() {
			buf := make([]byte, 100)
			for {
				k, from, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				mu.Lock()
				log = append(log, fmt.Sprintf("%s <- %s from %s", name, buf[:k], from))
				seen[name+" "+string(buf[:k])], _ = from.(*net.UDPAddr)
				mu.Unlock()
			}
		}()
	}
	eph := func(h *hostNet) (net.PacketConn, error) { return h.ListenPacket("udp4", "0.0.0.0:0") }
	at := func(port int) func(h *hostNet) (net.PacketConn, error) {
		return func(h *hostNet) (net.PacketConn, error) {
			return h.ListenUDP("udp4", &net.UDPAddr{IP: h.ip, Port: port})
		}
	}
	open("a1", "a", eph)
	open("a2", "a", eph)
	open("b1", "b", eph)
	open("s1", "s1", at(7000))
	open("s1b", "s1", at(7001))
	open("s2", "s2", at(7000))
	addr := func(host string, port int) *net.UDPAddr {
		h, _ := n.Host(host)
		return &net.UDPAddr{IP: h.IP, Port: port}
	}
	// saw is the source socket seen as at step, nil if it never arrived.
	saw := func(socket, step string) *net.UDPAddr {
		mu.Lock()
		defer mu.Unlock()
		return seen[socket+" "+step]
	}
	send := func(from, step string, to *net.UDPAddr) {
		if to != nil {
			_, _ = socks[from].WriteTo([]byte(step), to)
		}
		time.Sleep(10 * time.Millisecond)
	}
	send("a1", "1", addr("s1", 7000))
	send("s1", "2", saw("s1", "1"))  // the answer
	send("s1b", "3", saw("s1", "1")) // same address, other port
	send("s2", "4", saw("s1", "1"))  // other address
	send("a1", "5", addr("s2", 7000))
	send("s2", "6", saw("s1", "1"))
	send("a2", "7", addr("s1", 7000))
	send("b1", "8", addr("s1", 7000))
	send("a1", "9", saw("s1", "8")) // punching: a towards b's mapping
	send("b1", "10", saw("s1", "1"))
	send("a1", "11", saw("s1", "8"))
	send("a1", "12", addr("b", 5500)) // b's private address: unreachable
	send("a1", "13", addr("s1", 7000))
	send("a1", "14", saw("s1", "1")) // hairpin
	open("a3", "a", func(h *hostNet) (net.PacketConn, error) { return h.DialUDP("udp4", nil, addr("s1", 7000)) })
	_, _ = socks["a3"].(net.Conn).Write([]byte("15"))
	time.Sleep(10 * time.Millisecond)
	send("s2", "16", saw("s1", "15")) // a connected socket hears only its peer
	send("s1", "17", saw("s1", "15"))
	time.Sleep(DefaultMappingLifetime * 3 / 4)
	send("a1", "18", addr("s1", 7000)) // refreshes a1's mapping
	time.Sleep(DefaultMappingLifetime * 3 / 4)
	send("s1", "19", saw("s1", "1"))   // still mapped
	send("s1b", "20", saw("s1", "15")) // a3's mapping: expired
	time.Sleep(DefaultMappingLifetime)
	send("s1", "21", saw("s1", "1"))   // expired
	send("a1", "22", addr("s1", 7000)) // a new mapping
	for _, c := range socks {
		_ = c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), log...)
}

// TestFabricMatchesVnet runs the same script through the fabric and
// through vnet for every pair of NAT presets and compares what arrived
// where, from which address: the fabric must keep vnet's rules exactly.
func TestFabricMatchesVnet(t *testing.T) {
	for _, a := range NATs {
		for _, b := range NATs {
			t.Run(string(a)+"/"+string(b), func(t *testing.T) {
				var fab, vn []string
				synctest.Test(t, func(t *testing.T) { fab = natScript(t, a, b, false) })
				synctest.Test(t, func(t *testing.T) { vn = natScript(t, a, b, true) })
				if strings.Join(fab, "\n") != strings.Join(vn, "\n") {
					t.Errorf("fabric:\n%s\nvnet:\n%s", strings.Join(fab, "\n"), strings.Join(vn, "\n"))
				}
				// The script must see something happen: the answer to a's
				// first packet arrives unless UDP is blocked.
				got := strings.Join(fab, "\n")
				if want := "a1 <- 2 from"; (a != UDPBlocked) != strings.Contains(got, want) {
					t.Errorf("%q in the log: %v, want %v:\n%s", want, !(a != UDPBlocked), a != UDPBlocked, got)
				}
			})
		}
	}
}
