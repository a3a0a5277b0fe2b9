package turn

import (
	"net"
	"net/netip"
)

// The fast path sends and receives with net.UDPConn's own AddrPort calls,
// which allocate nothing. Raw sendto/recvfrom (RawSyscall6 through the
// socket's RawConn, which do not tell the scheduler about the call) cut
// serve's CPU per relayed message from 17.8-19.6 to 15.2-15.4 µs under
// turnutils_uclient -m 200, but only at GOMAXPROCS of twice the CPUs (at
// 2 on 2 CPUs serve lost 58-79 %: busy listening goroutines kept both
// processors), and with that many processors beside make test's other
// packages uclient lost 5.3-7.0 % of serve's messages in its own sockets
// at m=100 where coturn's lost 0.0-0.1 %: not kept (issue #17).

// readFromUDP reads a datagram from c and returns its sender's address
// with an IPv4 address unmapped, as the fast path's maps hold them.
func readFromUDP(c *net.UDPConn, b []byte) (int, netip.AddrPort, error) {
	n, ap, err := c.ReadFromUDPAddrPort(b)
	return n, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), err
}
