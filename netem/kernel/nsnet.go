package kernel

import (
	"context"
	"net"

	"github.com/pion/transport/v3"
	"github.com/pion/transport/v3/stdnet"
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

func (n *nsNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
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
