package netem

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/pion/transport/v3"
)

// TCP on the emulated network. pion's vnet carries only UDP, so netem adds
// TCP itself, as reliable in-order byte streams between hosts: a segment
// takes the access links' delay and rate, never their loss (TCP would
// repair it; the repair time is not emulated), and connecting takes one
// round trip. Connections go out through NATs (the server sees the NAT's
// public address and a port of its own) but never in: a listener on a
// NATed host is reachable only from itself. Firewalls block UDP only, so
// a udp-blocked host still reaches TURN over TCP.
type tcpFabric struct {
	mu        sync.Mutex
	listeners map[string]*tcpListener // by "ip:port"
	nextPort  map[string]int          // by IP
	conns     map[*streamConn]bool
	down      bool
}

func newTCPFabric() *tcpFabric {
	return &tcpFabric{listeners: map[string]*tcpListener{}, nextPort: map[string]int{}, conns: map[*streamConn]bool{}}
}

// shutdown closes every listener and connection: the network is gone, so
// blocked readers must not wait for bytes that will never come.
func (f *tcpFabric) shutdown() {
	f.mu.Lock()
	f.down = true
	ls := make([]*tcpListener, 0, len(f.listeners))
	for _, l := range f.listeners {
		ls = append(ls, l)
	}
	cs := make([]*streamConn, 0, len(f.conns))
	for c := range f.conns {
		cs = append(cs, c)
	}
	f.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	for _, c := range cs {
		c.abort()
	}
}

func (f *tcpFabric) port(ip net.IP) int {
	k := ip.String()
	if f.nextPort[k] == 0 {
		f.nextPort[k] = 40000
	}
	f.nextPort[k]++
	return f.nextPort[k]
}

// ListenTCP listens on the host's address.
func (h *hostNet) ListenTCP(_ string, laddr *net.TCPAddr) (transport.TCPListener, error) {
	f := h.tcp
	f.mu.Lock()
	defer f.mu.Unlock()
	addr := &net.TCPAddr{IP: h.ip, Port: 0}
	if laddr != nil {
		if laddr.IP != nil && !laddr.IP.IsUnspecified() && !laddr.IP.Equal(h.ip) {
			return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: laddr, Err: errors.New("cannot assign requested address")}
		}
		addr.Port = laddr.Port
	}
	if addr.Port == 0 {
		addr.Port = f.port(h.ip)
	}
	if f.listeners[addr.String()] != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: addr, Err: syscall.EADDRINUSE}
	}
	l := &tcpListener{f: f, addr: addr, conns: make(chan *streamConn, 64), done: make(chan struct{}), deadline: makeDeadline()}
	f.listeners[addr.String()] = l
	return l, nil
}

// DialTCP connects to a listener on another host.
func (h *hostNet) DialTCP(_ string, _ *net.TCPAddr, raddr *net.TCPAddr) (transport.TCPConn, error) {
	f := h.tcp
	f.mu.Lock()
	l := f.listeners[raddr.String()]
	var clientAddr, seenAs *net.TCPAddr
	if l != nil {
		clientAddr = &net.TCPAddr{IP: h.ip, Port: f.port(h.ip)}
		seenAs = &net.TCPAddr{IP: h.public, Port: f.port(h.public)}
	}
	f.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: syscall.ECONNREFUSED}
	}
	// The handshake: SYN up, SYN-ACK down.
	time.Sleep(h.up.get().Delay + h.down.get().Delay + 2*streamLatency)
	client := newStreamConn(clientAddr, raddr, h.up)
	server := newStreamConn(raddr, seenAs, h.down)
	client.peer, server.peer = server, client
	f.mu.Lock()
	if f.down {
		f.mu.Unlock()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: net.ErrClosed}
	}
	f.conns[client], f.conns[server] = true, true
	f.mu.Unlock()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: syscall.ECONNREFUSED}
	}
}

func (h *hostNet) ResolveTCPAddr(network, address string) (*net.TCPAddr, error) {
	return net.ResolveTCPAddr(network, address)
}

type tcpListener struct {
	f         *tcpFabric
	addr      *net.TCPAddr
	conns     chan *streamConn
	done      chan struct{}
	closeOnce sync.Once
	deadline  *deadline
}

func (l *tcpListener) Accept() (net.Conn, error) { return l.AcceptTCP() }

func (l *tcpListener) AcceptTCP() (transport.TCPConn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.deadline.wait():
		return nil, os.ErrDeadlineExceeded
	}
}

func (l *tcpListener) Close() error {
	l.closeOnce.Do(func() {
		l.f.mu.Lock()
		delete(l.f.listeners, l.addr.String())
		l.f.mu.Unlock()
		close(l.done)
	})
	return nil
}

func (l *tcpListener) Addr() net.Addr { return l.addr }

func (l *tcpListener) SetDeadline(t time.Time) error {
	l.deadline.set(t)
	return nil
}

// streamConn is one end of an emulated TCP connection. Bytes written
// travel over out (the writer's uplink, or the reader's downlink for
// connections from a host's point of view) into the peer's buffer.
type streamConn struct {
	local, remote *net.TCPAddr
	out           *link
	peer          *streamConn

	mu       sync.Mutex
	buf      []byte
	eof      bool // the peer closed its side and everything arrived
	closed   bool
	notify   chan struct{}
	deadline *deadline
}

func newStreamConn(local, remote *net.TCPAddr, out *link) *streamConn {
	return &streamConn{local: local, remote: remote, out: out, notify: make(chan struct{}, 1), deadline: makeDeadline()}
}

func (c *streamConn) arrive(data []byte, fin bool) {
	c.mu.Lock()
	if fin {
		c.eof = true
	} else {
		c.buf = append(c.buf, data...)
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *streamConn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		switch {
		case c.closed:
			c.mu.Unlock()
			return 0, net.ErrClosed
		case len(c.buf) > 0:
			n := copy(p, c.buf)
			c.buf = c.buf[n:]
			c.mu.Unlock()
			return n, nil
		case c.eof:
			c.mu.Unlock()
			return 0, io.EOF
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-c.deadline.wait():
			return 0, os.ErrDeadlineExceeded
		}
	}
}

func (c *streamConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	data := append([]byte(nil), p...)
	peer := c.peer
	c.out.sendStream(len(data), func() { peer.arrive(data, false) })
	return len(p), nil
}

func (c *streamConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	peer := c.peer
	c.out.sendStream(0, func() { peer.arrive(nil, true) })
	return nil
}

// abort ends the connection at once: the network is gone.
func (c *streamConn) abort() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *streamConn) CloseRead() error  { return nil }
func (c *streamConn) CloseWrite() error { return c.Close() }
func (c *streamConn) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{c}, r)
}
func (c *streamConn) LocalAddr() net.Addr                    { return c.local }
func (c *streamConn) RemoteAddr() net.Addr                   { return c.remote }
func (c *streamConn) SetDeadline(t time.Time) error          { c.deadline.set(t); return nil }
func (c *streamConn) SetReadDeadline(t time.Time) error      { c.deadline.set(t); return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error       { return nil }
func (c *streamConn) SetLinger(int) error                    { return nil }
func (c *streamConn) SetKeepAlive(bool) error                { return nil }
func (c *streamConn) SetKeepAlivePeriod(time.Duration) error { return nil }
func (c *streamConn) SetNoDelay(bool) error                  { return nil }

func (c *streamConn) SetReadBuffer(int) error  { return nil }
func (c *streamConn) SetWriteBuffer(int) error { return nil }
