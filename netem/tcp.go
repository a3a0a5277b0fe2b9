package netem

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/pion/transport/v3"
)

// TCP on the emulated network. pion's vnet carries only UDP, so netem adds
// TCP itself, as reliable in-order byte streams between hosts: a segment
// crosses the sender's uplink and the receiver's downlink like a UDP
// datagram does (loss, the rate- or trace-limited drop-tail bottleneck,
// delay, jitter), a segment that does not arrive is sent again (fast
// retransmit or a retransmission timeout), and a congestion window paces
// the sender (stream.go). Connecting takes one round trip. Connections go out through NATs (the server sees the NAT's
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
	if f == nil {
		return nil, errWrappedTCP
	}
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
	l := &tcpListener{f: f, h: h, addr: addr, conns: make(chan *streamConn, 64), done: make(chan struct{}), deadline: makeDeadline()}
	f.listeners[addr.String()] = l
	return l, nil
}

// DialTCP connects to a listener on another host.
func (h *hostNet) DialTCP(_ string, _ *net.TCPAddr, raddr *net.TCPAddr) (transport.TCPConn, error) {
	f := h.tcp
	if f == nil {
		return nil, errWrappedTCP
	}
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
	// The handshake: SYN up, SYN-ACK down. Its round trip is the first RTT
	// sample (RFC 6298 section 2.2).
	rtt := h.up.get().Delay + l.h.down.get().Delay + l.h.up.get().Delay + h.down.get().Delay + 2*streamLatency
	if err := h.handshake(l, clientAddr, seenAs, rtt); err != nil {
		return nil, err
	}
	client := newStreamConn(h, clientAddr, raddr, []*link{h.up, l.h.down}, rtt)
	server := newStreamConn(l.h, raddr, seenAs, []*link{l.h.up, h.down}, rtt)
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

// SYN retransmission (RFC 6298 section 2.1: the first timeout is 1 s;
// section 5.5: it doubles) and how many times a SYN is resent before the
// dial fails, as Linux's tcp_syn_retries: 127 s in all.
const (
	synRTO     = time.Second
	synRetries = 6
)

// handshake carries the SYN from h to the listener l and the SYN-ACK
// back. Its segments are captured but not impaired, except that a link
// that is down carries none of them: the SYN is then sent again after a
// timeout, and the dial fails after synRetries.
func (h *hostNet) handshake(l *tcpListener, clientAddr, seenAs *net.TCPAddr, rtt time.Duration) error {
	there := h.up.get().Delay + l.h.down.get().Delay + streamLatency
	rto := synRTO
	for try := 0; ; try++ {
		sent := time.Now()
		h.capture.segment(sent, clientAddr, l.addr, 0, 0, tcpSYN, nil)
		if !h.up.get().Down && !l.h.down.get().Down {
			time.Sleep(there)
			l.h.capture.segment(time.Now(), seenAs, l.addr, 0, 0, tcpSYN, nil)
			l.h.capture.segment(time.Now(), l.addr, seenAs, 0, 1, tcpSYN|tcpACK, nil)
			if !l.h.up.get().Down && !h.down.get().Down {
				time.Sleep(rtt - there)
				h.capture.segment(time.Now(), l.addr, clientAddr, 0, 1, tcpSYN|tcpACK, nil)
				return nil
			}
		}
		if try == synRetries {
			return &net.OpError{Op: "dial", Net: "tcp", Addr: l.addr, Err: syscall.ETIMEDOUT}
		}
		time.Sleep(time.Until(sent.Add(rto)))
		rto *= 2
	}
}

func (h *hostNet) ResolveTCPAddr(network, address string) (*net.TCPAddr, error) {
	return net.ResolveTCPAddr(network, address)
}

type tcpListener struct {
	f         *tcpFabric
	h         *hostNet // the listening host
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
