//go:build !linux

package turn

import (
	"net"
	"net/netip"
)

// rawUDP and rawReader are net.UDPConn's own calls where rawudp_linux.go
// makes raw system calls.
type rawUDP struct{ conn *net.UDPConn }

func newRawUDP(c *net.UDPConn) *rawUDP { return &rawUDP{conn: c} }

func (r *rawUDP) sendTo(b []byte, to netip.AddrPort) { _, _ = r.conn.WriteToUDPAddrPort(b, to) }

type rawReader struct{ conn *net.UDPConn }

func newRawReader(c *net.UDPConn) *rawReader { return &rawReader{conn: c} }

func (r *rawReader) readFrom(b []byte) (int, netip.AddrPort, error) {
	n, ap, err := r.conn.ReadFromUDPAddrPort(b)
	return n, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), err
}
