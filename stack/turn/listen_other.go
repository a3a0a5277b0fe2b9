//go:build !linux

package turn

import (
	"net"
	"syscall"
)

// reusePort: without it only one socket can hold an address.
const reusePort = false

// socketControl sets nothing outside Linux: one socket per address would
// need SO_REUSEPORT semantics that differ by system.
func socketControl(bool, int) func(network, address string, c syscall.RawConn) error {
	return nil
}

func socketBuffers(net.PacketConn) (recv, send int) { return 0, 0 }

func setConnBuffers(net.PacketConn, int) {}
