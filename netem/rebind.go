package netem

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v3"
)

// NAT rebinding: a NAT that drops a mapping (a timeout, a reboot, a
// CGN's port reallocation) gives the host's next packet a new external
// port (RFC 4787 section 4.3; RFC 8445 section 2.3 on why ICE must then
// restart or learn the new address). The emulation opens a fresh
// socket under each of the host's UDP sockets, on a new inside port, so
// the NAT in front maps it anew; the program keeps its socket and local
// address, and packets sent to the old mapping are lost with the old
// socket.

// Rebind changes the NAT mapping of every UDP socket the host has open
// and returns how many changed. TCP connections are not moved (a real
// rebinding resets them).
func (h *Host) Rebind() (int, error) {
	if h.rebind != nil {
		return h.rebind()
	}
	hn, ok := h.Net.(*hostNet)
	if !ok || !hn.canRebind {
		return 0, fmt.Errorf("%w: host %s was not declared rebindable (HostConfig.Rebindable)", ErrUnsupported, h.Name)
	}
	hn.openMu.Lock()
	conns := make([]*udpConn, 0, len(hn.open))
	for c := range hn.open {
		conns = append(conns, c)
	}
	hn.openMu.Unlock()
	n := 0
	var errs []error
	for _, c := range conns {
		rc, ok := c.UDPConn.(*rebindConn)
		if !ok {
			continue
		}
		if err := rc.rebind(); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// rebindConn is a host socket whose inside socket can be replaced.
type rebindConn struct {
	cur    atomic.Pointer[transport.UDPConn]
	local  net.Addr // what the program sees, kept across rebinds
	reopen func() (transport.UDPConn, error)
	closed atomic.Bool
}

// rebindable wraps inner when the host is rebindable (HostConfig.
// Rebindable); reopen opens its replacement on a new port.
func (h *hostNet) rebindable(inner transport.UDPConn, reopen func() (transport.UDPConn, error)) transport.UDPConn {
	if !h.canRebind {
		return inner
	}
	rc := &rebindConn{local: inner.LocalAddr(), reopen: reopen}
	rc.cur.Store(&inner)
	return rc
}

func (rc *rebindConn) get() transport.UDPConn { return *rc.cur.Load() }

func (rc *rebindConn) rebind() error {
	if rc.closed.Load() {
		return nil
	}
	next, err := rc.reopen()
	if err != nil {
		return fmt.Errorf("netem rebind: %w", err)
	}
	old := rc.cur.Swap(&next)
	if rc.closed.Load() { // closed meanwhile
		_ = next.Close()
	}
	return (*old).Close()
}

// ReadFrom reads from the current inside socket; a read cut short by a
// rebind goes on with the new one.
func (rc *rebindConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		c := rc.get()
		n, a, err := c.ReadFrom(p)
		if err != nil && !rc.closed.Load() && rc.get() != c {
			continue
		}
		return n, a, err
	}
}

func (rc *rebindConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	n, a, err := rc.ReadFrom(p)
	ua, _ := a.(*net.UDPAddr)
	return n, ua, err
}

func (rc *rebindConn) Read(p []byte) (int, error) {
	n, _, err := rc.ReadFrom(p)
	return n, err
}

func (rc *rebindConn) ReadMsgUDP(b, oob []byte) (int, int, int, *net.UDPAddr, error) {
	n, a, err := rc.ReadFromUDP(b)
	return n, 0, 0, a, err
}

func (rc *rebindConn) WriteTo(p []byte, addr net.Addr) (int, error) { return rc.get().WriteTo(p, addr) }
func (rc *rebindConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) {
	return rc.get().WriteToUDP(p, addr)
}
func (rc *rebindConn) Write(p []byte) (int, error) { return rc.get().Write(p) }
func (rc *rebindConn) WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (int, int, error) {
	return rc.get().WriteMsgUDP(b, oob, addr)
}
func (rc *rebindConn) LocalAddr() net.Addr                { return rc.local }
func (rc *rebindConn) RemoteAddr() net.Addr               { return rc.get().RemoteAddr() }
func (rc *rebindConn) SetDeadline(t time.Time) error      { return rc.get().SetDeadline(t) }
func (rc *rebindConn) SetReadDeadline(t time.Time) error  { return rc.get().SetReadDeadline(t) }
func (rc *rebindConn) SetWriteDeadline(t time.Time) error { return rc.get().SetWriteDeadline(t) }
func (rc *rebindConn) SetReadBuffer(n int) error          { return rc.get().SetReadBuffer(n) }
func (rc *rebindConn) SetWriteBuffer(n int) error         { return rc.get().SetWriteBuffer(n) }

func (rc *rebindConn) Close() error {
	rc.closed.Store(true)
	return rc.get().Close()
}

// ipOnly is laddr without its port (nil stays nil): a rebind's new socket
// takes the next ephemeral port on the same address.
func ipOnly(laddr *net.UDPAddr) *net.UDPAddr {
	if laddr == nil {
		return nil
	}
	return &net.UDPAddr{IP: laddr.IP, Zone: laddr.Zone}
}
