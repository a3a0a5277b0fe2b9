package netem

import (
	"net"
	"testing"
	"testing/synctest"
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
