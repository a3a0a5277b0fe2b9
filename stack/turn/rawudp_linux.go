package turn

import (
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The fast path's sends and receives are raw system calls (RawSyscall6
// through the socket's syscall.RawConn, which keeps the descriptor valid
// and waits in Go's poller on EAGAIN). net.UDPConn's own calls tell the
// scheduler about each one (entersyscall): under uclient's load a
// loopback sendto, which delivers the datagram before it returns, often
// outlasted the 20 µs the runtime's monitor waits before it hands the
// processor to another thread, and every handoff and return cost context
// switches (perf record: sysmon, futex and nanosleep 10-15 % of serve's
// CPU). The sockets are non-blocking: no call here blocks. A raw call
// keeps its processor, which is why serve runs with Procs() of them.

// rawUDP sends on an IPv4 UDP socket; safe for concurrent use.
type rawUDP struct {
	rc   syscall.RawConn
	conn *net.UDPConn
}

func newRawUDP(c *net.UDPConn) *rawUDP {
	return &rawUDP{rc: inet4(c), conn: c}
}

// inet4 is c's RawConn when c is an AF_INET socket (the sockaddr_in
// these calls use), else nil: the net.UDPConn calls are used instead.
func inet4(c *net.UDPConn) syscall.RawConn {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	domain := -1
	_ = rc.Control(func(fd uintptr) {
		domain, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
	})
	if domain != unix.AF_INET {
		return nil
	}
	return rc
}

type sendOp struct {
	b  []byte
	to unix.RawSockaddrInet4
	fn func(fd uintptr) bool
}

var sendOps = sync.Pool{New: func() any {
	o := &sendOp{}
	o.fn = o.send
	return o
}}

func (o *sendOp) send(fd uintptr) bool {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(o.b))), uintptr(len(o.b)),
			0, uintptr(unsafe.Pointer(&o.to)), unsafe.Sizeof(o.to))
		if e == unix.EINTR {
			continue
		}
		return e != unix.EAGAIN // full: wait until writable, as WriteTo does
	}
}

// sendTo sends b to an IPv4 address; errors are dropped datagrams, as
// pion ignores them.
func (r *rawUDP) sendTo(b []byte, to netip.AddrPort) {
	if r.rc == nil || !to.Addr().Is4() {
		_, _ = r.conn.WriteToUDPAddrPort(b, to)
		return
	}
	o := sendOps.Get().(*sendOp)
	o.b = b
	o.to = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: to.Addr().As4()}
	port := (*[2]byte)(unsafe.Pointer(&o.to.Port))
	port[0], port[1] = byte(to.Port()>>8), byte(to.Port()) // network order
	_ = r.rc.Write(o.fn)
	o.b = nil
	sendOps.Put(o)
}

// rawReader receives on an IPv4 UDP socket; one goroutine at a time.
type rawReader struct {
	rc      syscall.RawConn
	conn    *net.UDPConn
	buf     []byte
	n       int
	err     error
	from    unix.RawSockaddrInet4
	fromLen uint32
	fn      func(fd uintptr) bool
}

func newRawReader(c *net.UDPConn) *rawReader {
	r := &rawReader{conn: c, rc: inet4(c)}
	r.fn = r.recv
	return r
}

func (r *rawReader) recv(fd uintptr) bool {
	for {
		r.fromLen = uint32(unsafe.Sizeof(r.from))
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.buf))), uintptr(len(r.buf)),
			0, uintptr(unsafe.Pointer(&r.from)), uintptr(unsafe.Pointer(&r.fromLen)))
		switch e {
		case 0:
			r.n, r.err = int(n), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait in the poller
		default:
			r.n, r.err = 0, e
		}
		return true
	}
}

// readFrom reads one datagram into b.
func (r *rawReader) readFrom(b []byte) (int, netip.AddrPort, error) {
	if r.rc == nil {
		n, ap, err := r.conn.ReadFromUDPAddrPort(b)
		return n, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), err
	}
	r.buf = b
	err := r.rc.Read(r.fn)
	r.buf = nil
	if err == nil {
		err = r.err
	}
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	port := (*[2]byte)(unsafe.Pointer(&r.from.Port))
	return r.n, netip.AddrPortFrom(netip.AddrFrom4(r.from.Addr), uint16(port[0])<<8|uint16(port[1])), nil
}
