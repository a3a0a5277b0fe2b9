package turn

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort: several sockets may share one address (SO_REUSEPORT).
const reusePort = true

// socketControl sets SO_REUSEPORT (when several sockets share the address)
// and the buffer sizes before bind. A buffer the kernel refuses is not an
// error: the socket keeps what it got, and Sockets reports it.
func socketControl(reuse bool, buf int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if reuse {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
			setBuffer(int(fd), unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, buf)
			setBuffer(int(fd), unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, buf)
		})
		return errors.Join(err, serr)
	}
}

// setBuffer asks for size with the FORCE option (allowed with
// CAP_NET_ADMIN: past net.core.rmem_max), else with the plain one.
func setBuffer(fd, force, plain, size int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, size) == nil {
		return
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, size)
}

// socketBuffers reads back SO_RCVBUF and SO_SNDBUF; 0 when unknown.
func socketBuffers(pc net.PacketConn) (recv, send int) {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return 0, 0
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, 0
	}
	_ = raw.Control(func(fd uintptr) {
		recv, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		send, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
	})
	return recv, send
}

// setConnBuffers sizes an open socket's buffers, as socketControl does
// before bind.
func setConnBuffers(pc net.PacketConn, size int) {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return // a vnet socket
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		setBuffer(int(fd), unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, size)
		setBuffer(int(fd), unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, size)
	})
}
