package kernel

import (
	"context"
	"net"

	"github.com/pion/transport/v3"
	"github.com/pion/transport/v3/stdnet"
	"golang.org/x/sys/unix"
)

// nsNet is a transport.Net whose sockets live in one network namespace:
// pion's stdnet (real sockets), with every call that creates a socket made
// on a thread inside the namespace (inNamespace). A socket keeps its
// namespace, so reads and writes then run on any thread.
type nsNet struct {
	*stdnet.Net // interfaces (listed inside the namespace) and resolution
	ns          string
}

var _ transport.Net = (*nsNet)(nil)

func newNSNet(ns string) (*nsNet, error) {
	var sn *stdnet.Net
	err := inNamespace(ns, func() error {
		var err error
		sn, err = stdnet.NewNet()
		return err
	})
	if err != nil {
		return nil, err
	}
	return &nsNet{Net: sn, ns: ns}, nil
}

// in runs fn inside the namespace and returns its results.
func in[T any](n *nsNet, fn func() (T, error)) (T, error) {
	var v T
	err := inNamespace(n.ns, func() error {
		var err error
		v, err = fn()
		return err
	})
	return v, err
}

func (n *nsNet) ListenPacket(network, address string) (net.PacketConn, error) {
	return in(n, func() (net.PacketConn, error) { return n.Net.ListenPacket(network, address) })
}

// ListenUDP on a multicast address (mDNS's 224.0.0.251:5353, RFC 6762)
// joins the group on the host's interface, as the in-process backend's
// listenGroup does: the socket receives what the LAN's other hosts send
// to the group (lanGroup.fanout), and the host's own other sockets on the
// group get its sends (IP_MULTICAST_LOOP, on by default: RFC 1112 section
// 6.3). SO_REUSEADDR (set by ListenMulticastUDP) lets several sockets of
// the host share the group's port.
func (n *nsNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	if laddr != nil && laddr.IP.IsMulticast() {
		return in(n, func() (transport.UDPConn, error) {
			ifi, err := net.InterfaceByName("tun0")
			if err != nil {
				return nil, err
			}
			c, err := net.ListenMulticastUDP(network, ifi, laddr)
			if err != nil {
				return nil, err
			}
			// Go turns multicast loopback off here; the in-process
			// backend, as a host by default, has it on.
			if err := setMulticastLoop(c); err != nil {
				_ = c.Close()
				return nil, err
			}
			return c, nil
		})
	}
	return in(n, func() (transport.UDPConn, error) { return n.Net.ListenUDP(network, laddr) })
}

func (n *nsNet) ListenTCP(network string, laddr *net.TCPAddr) (transport.TCPListener, error) {
	return in(n, func() (transport.TCPListener, error) { return n.Net.ListenTCP(network, laddr) })
}

func (n *nsNet) Dial(network, address string) (net.Conn, error) {
	return in(n, func() (net.Conn, error) { return n.Net.Dial(network, address) })
}

func (n *nsNet) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	return in(n, func() (transport.UDPConn, error) { return n.Net.DialUDP(network, laddr, raddr) })
}

func (n *nsNet) DialTCP(network string, laddr, raddr *net.TCPAddr) (transport.TCPConn, error) {
	return in(n, func() (transport.TCPConn, error) { return n.Net.DialTCP(network, laddr, raddr) })
}

func (n *nsNet) CreateDialer(d *net.Dialer) transport.Dialer {
	return nsDialer{n: n, d: d}
}

// DialContext dials from inside the namespace (an http.Transport's
// DialContext for a client that lives in the host).
func (n *nsNet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return in(n, func() (net.Conn, error) { return (&net.Dialer{}).DialContext(ctx, network, address) })
}

type nsDialer struct {
	n *nsNet
	d *net.Dialer
}

func (d nsDialer) Dial(network, address string) (net.Conn, error) {
	return in(d.n, func() (net.Conn, error) { return d.d.Dial(network, address) })
}

func setMulticastLoop(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 1)
	}); err != nil {
		return err
	}
	return serr
}
