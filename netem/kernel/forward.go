package kernel

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"

	"github.com/rtclab/rtclab/netem"
)

// A Forwarder carries UDP datagrams and TCP connections that reach one
// address:port inside a host's namespace to a server on this machine's
// loopback (a TURN server the user runs: servers.turn {url:
// turn:127.0.0.1:PORT}), which no namespace of the run can reach
// otherwise: each has a loopback of its own. It is a user-space relay in
// rtclab's process, so nothing outside loopback and the run's own
// namespaces is touched, and the packets cross the host's access link
// (and its capture) as any server's do. Each client address:port gets a
// socket of its own towards the target, so the server sees one 5-tuple
// per client (RFC 8656 section 2.2: a TURN allocation is keyed by it)
// and no client's traffic is mixed with another's; the server sees the
// forwarder's loopback address as the client's, so an XOR-MAPPED-ADDRESS
// it reports (STUN, RFC 8489 section 14.2) is that one.
type Forwarder struct {
	udp    net.PacketConn
	tcp    net.Listener
	target netip.AddrPort

	mu       sync.Mutex
	sessions map[string]net.Conn // client address -> socket to the target
	conns    map[net.Conn]bool   // TCP connections both ways
	closed   bool
	wg       sync.WaitGroup
}

// ForwardLoopback starts a Forwarder from host's address at port (UDP and
// TCP) to target, which must be a loopback address. Close stops it; the
// Network's Close does not.
func (n *Network) ForwardLoopback(host string, port int, target netip.AddrPort) (*Forwarder, error) {
	if !target.Addr().Is4() || !target.Addr().IsLoopback() {
		return nil, fmt.Errorf("%w: forwarding only to IPv4 loopback, not %s", netem.ErrConfig, target)
	}
	h, ok := n.hosts[host]
	if !ok {
		return nil, fmt.Errorf("%w: no host %q", netem.ErrConfig, host)
	}
	f := &Forwarder{target: target, sessions: map[string]net.Conn{}, conns: map[net.Conn]bool{}}
	var err error
	if f.udp, err = h.Net.ListenPacket("udp4", fmt.Sprintf("%s:%d", h.IP, port)); err != nil {
		return nil, fmt.Errorf("forwarder: %w", err)
	}
	tl, err := h.Net.ListenTCP("tcp4", &net.TCPAddr{IP: h.IP, Port: port})
	if err != nil {
		_ = f.udp.Close()
		return nil, fmt.Errorf("forwarder: %w", err)
	}
	f.tcp = tl
	f.wg.Add(2)
	go f.serveUDP()
	go f.serveTCP()
	return f, nil
}

// serveUDP reads datagrams from clients and sends each on its client's
// socket to the target (opened on its first datagram).
func (f *Forwarder) serveUDP() {
	defer f.wg.Done()
	buf := make([]byte, 65536)
	for {
		k, from, err := f.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		c := f.session(from)
		if c != nil {
			_, _ = c.Write(buf[:k])
		}
	}
}

// session returns the client's socket to the target, opening it and its
// reader (target -> client) the first time; nil when closed or on error.
func (f *Forwarder) session(from net.Addr) net.Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	if c, ok := f.sessions[from.String()]; ok {
		return c
	}
	// Dialled from rtclab's own namespace (no thread of this process
	// stays in another), so the loopback is this machine's.
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(f.target))
	if err != nil {
		return nil
	}
	f.sessions[from.String()] = c
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		buf := make([]byte, 65536)
		for {
			k, err := c.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // an ICMP error from the target: go on
			}
			_, _ = f.udp.WriteTo(buf[:k], from)
		}
	}()
	return c
}

// serveTCP accepts clients and joins each to its own connection to the
// target.
func (f *Forwarder) serveTCP() {
	defer f.wg.Done()
	for {
		in, err := f.tcp.Accept()
		if err != nil {
			return
		}
		out, err := net.DialTCP("tcp4", nil, net.TCPAddrFromAddrPort(f.target))
		if err != nil || !f.track(in, out) {
			_ = in.Close()
			if out != nil {
				_ = out.Close()
			}
			continue
		}
		f.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer f.wg.Done()
			_, _ = io.Copy(dst, src)
			// One direction ended: end both (TURN over TCP has no
			// half-closed use).
			f.untrack(dst, src)
		}
		go pipe(out, in)
		go pipe(in, out)
	}
}

func (f *Forwarder) track(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	for _, c := range cs {
		f.conns[c] = true
	}
	return true
}

func (f *Forwarder) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
		delete(f.conns, c)
	}
}

// Close stops forwarding: the listeners, every client's socket and TCP
// connection; it returns when every goroutine has ended. Closing again
// does nothing.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	for _, c := range f.sessions {
		_ = c.Close()
	}
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	err := errors.Join(f.udp.Close(), f.tcp.Close())
	f.wg.Wait()
	return err
}
