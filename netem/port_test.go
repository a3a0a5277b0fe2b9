package netem

import (
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// TestPortsDoNotDependOnOrder: a socket bound to the host's address (a
// pion host candidate) gets the same port whether or not a socket bound
// to no address (server-reflexive gathering, started on another
// goroutine at the same instant) was opened first.
func TestPortsDoNotDependOnOrder(t *testing.T) {
	for _, anyFirst := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			n, err := New(Config{Hosts: []HostConfig{{Name: "h", NAT: PortRestrictedCone}}})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			h, _ := n.Host("h")
			listen := func(ip net.IP) int {
				c, err := h.Net.ListenUDP("udp4", &net.UDPAddr{IP: ip})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c.LocalAddr().(*net.UDPAddr).Port
			}
			var bound, unbound int
			if anyFirst {
				unbound = listen(nil)
				bound = listen(h.IP)
			} else {
				bound = listen(h.IP)
				unbound = listen(nil)
			}
			if bound != 5000 || unbound != 5500 {
				t.Errorf("unbound first %v: bound to the address %d, to none %d; want 5000 and 5500 in either order", anyFirst, bound, unbound)
			}
		})
	}
}

// TestStaggerOrdersSocketsByPort: sockets opened on no address by
// goroutines started at one instant (pion's server-reflexive and relay
// gathering, one goroutine per ICE server URL) return to their callers at
// instants set by their port and kind alone, so their first packets go
// out in one order whichever goroutine the scheduler ran first: ListenUDP
// socket n after (2n+2) staggers, ListenPacket socket n after (2n+1).
// Without Stagger they all return at once.
func TestStaggerOrdersSocketsByPort(t *testing.T) {
	const gap = 165 * time.Nanosecond
	for _, stagger := range []time.Duration{0, gap} {
		synctest.Test(t, func(t *testing.T) {
			n, err := New(Config{Hosts: []HostConfig{{Name: "h", NAT: PortRestrictedCone}}, Stagger: stagger})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			h, _ := n.Host("h")
			type opened struct {
				port   int
				packet bool
				after  time.Duration
			}
			start := time.Now()
			got := make(chan opened, 6)
			for i := range 6 {
				go func() {
					var c net.PacketConn
					var err error
					if i%3 == 0 {
						c, err = h.Net.ListenPacket("udp4", "0.0.0.0:0")
					} else {
						c, err = h.Net.ListenUDP("udp4", nil)
					}
					if err != nil {
						t.Error(err)
						got <- opened{}
						return
					}
					got <- opened{c.LocalAddr().(*net.UDPAddr).Port, i%3 == 0, time.Since(start)}
					t.Cleanup(func() { c.Close() })
				}()
			}
			for range 6 {
				o := <-got
				var want time.Duration
				switch {
				case stagger == 0:
				case o.packet:
					want = time.Duration(2*(o.port-6000)+1) * stagger
				default:
					want = time.Duration(2*(o.port-5500)+2) * stagger
				}
				if o.packet && (o.port < 6000 || o.port > 6001) || !o.packet && (o.port < 5500 || o.port > 5503) {
					t.Errorf("stagger %v: port %d out of its kind's range (packet %v)", stagger, o.port, o.packet)
				}
				if o.after != want {
					t.Errorf("stagger %v: port %d (packet %v) returned after %v, want %v", stagger, o.port, o.packet, o.after, want)
				}
			}
		})
	}
}
