package netem

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/transport/v3"
)

// hostNet is the transport.Net a Host hands out: the host's vnet.Net with
// every UDP socket wrapped so its traffic crosses the host's access link.
type hostNet struct {
	transport.Net
	up, down *link
	// blockUDP drops UDP to and from every address not in allowed.
	blockUDP bool
	allowed  map[string]bool
	// ip is the host's own address, public the one the internet sees;
	// capture, when set, records its traffic.
	ip, public net.IP
	capture    *Capture
	tcp        *tcpFabric
	bufs       *bufPool
	// canRebind puts a rebinding layer under each UDP socket (rebind.go).
	canRebind bool
	// seg is the host's LAN segment, nil when the config names none:
	// only then do multicast sends and group sockets exist (lan.go).
	seg *lanSegment
	// fabric, when set, carries the host's datagrams instead of vnet
	// (route.go), from router, to the sockets in socks.
	fabric *fabric
	router *router
	socks  sockets

	portMu   sync.Mutex
	nextPort [3]int // per portClass, the next ephemeral UDP port to try, from 0
	// gap is Config.Stagger.
	gap time.Duration

	// open holds the host's sockets not yet closed, so that the network
	// closes what a program left open (openMu guards it).
	openMu sync.Mutex
	open   map[*udpConn]struct{}
}

// closeOpen closes every socket of the host still open. pion/ice v4.1.0
// leaks a host candidate's socket when the agent closes while gathering:
// addCandidate fails, and candidateBase.close() closes nothing for a
// candidate never started (gather.go, gatherCandidatesLocal; fixed
// upstream by pion/ice#842, "Cancel gathering before removing
// candidates"). A real host frees such a socket when its process exits;
// here the network does, when it closes, so the socket's read loop ends.
func (h *hostNet) closeOpen() {
	h.openMu.Lock()
	conns := make([]*udpConn, 0, len(h.open))
	for c := range h.open {
		conns = append(conns, c)
	}
	h.openMu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Ephemeral UDP ports, the range vnet uses. vnet picks a port at random
// (math/rand), so candidates' addresses differed from run to run; the host
// hands them out in order instead, from three parts of the range, one per
// kind of socket pion opens on goroutines started at one instant (ice/v4
// gather.go gatherCandidatesInternal): sockets bound to an address (host
// candidates) from 5000, sockets bound to none from ListenUDP (its
// server-reflexive gathering, one goroutine per STUN and TURN URL) from
// 5500, and from ListenPacket (its relay gathering over UDP, one goroutine
// per TURN URL) from 6000. With one counter the scheduler decided whether
// the host candidate got 5000 or 5004, or the relay's socket 5501 or 5503.

const (
	ephemeralFirst = 5000
	ephemeralCount = 500
)

// portClass is which part of the ephemeral range a socket's port comes
// from.
type portClass int

const (
	portBound    portClass = iota // bound to one of the host's addresses
	portWildcard                  // bound to none, from ListenUDP or DialUDP
	portPacket                    // bound to none, from ListenPacket
)

// classOf is the class of a socket asked for laddr; packet says it came
// through ListenPacket.
func classOf(laddr *net.UDPAddr, packet bool) portClass {
	switch {
	case laddr != nil && laddr.IP != nil && !laddr.IP.IsUnspecified():
		return portBound
	case packet:
		return portPacket
	}
	return portWildcard
}

// listenEphemeral binds the next free ephemeral port of class for the
// host, then holds the caller for the class's stagger (see Config.Stagger).
func (h *hostNet) listenEphemeral(network string, laddr *net.UDPAddr, class portClass, listen func(*net.UDPAddr) (transport.UDPConn, error)) (transport.UDPConn, error) {
	c, n, err := h.bindEphemeral(network, laddr, class, listen)
	if err == nil {
		h.stagger(class, n)
	}
	return c, err
}

// bindEphemeral binds the next free ephemeral port of class; n counts the
// class's ports handed out before this one.
func (h *hostNet) bindEphemeral(network string, laddr *net.UDPAddr, class portClass, listen func(*net.UDPAddr) (transport.UDPConn, error)) (transport.UDPConn, int, error) {
	h.portMu.Lock()
	defer h.portMu.Unlock()
	var err error
	for range ephemeralCount {
		n := h.nextPort[class]
		a := &net.UDPAddr{Port: ephemeralFirst + int(class)*ephemeralCount + n%ephemeralCount}
		if laddr != nil {
			a.IP, a.Zone = laddr.IP, laddr.Zone
		}
		h.nextPort[class]++
		var c transport.UDPConn
		if c, err = listen(a); err == nil {
			return c, n, nil
		}
		if !strings.Contains(err.Error(), "in use") {
			return nil, 0, err
		}
	}
	return nil, 0, fmt.Errorf("netem: %s: no free ephemeral port: %w", network, err)
}

// stagger holds the caller that opened the n-th wildcard socket of its
// class for its own slice of time, so that sockets opened by goroutines
// started at one instant send their first packet at distinct instants,
// in the order of their ports, whichever goroutine the scheduler ran
// first. pion gathers server-reflexive candidates on one goroutine per
// ICE server URL and relayed ones on another (ice/v4 gather.go
// gatherCandidatesSrflx, gatherCandidatesRelay); each opens its socket and
// writes its STUN request without blocking in between, so under a
// scheduler that runs same-instant goroutines in any order (always with
// -race) the NAT saw the requests, and mapped their ports, in a different
// order from run to run (seen in the captures of a stun-turn matrix cell:
// the relay's socket was 5501 in one run and 5503 in the next, and every
// mapped port after it moved). The gather goroutines of one agent differ
// only in their URL, which a server-reflexive candidate does not keep, so
// once a socket's timing depends on its port alone the candidates are the
// same in every run. The wildcard socket n waits (2n+2) times the stagger,
// the packet socket n (2n+1) times: the two classes never share an
// instant.
func (h *hostNet) stagger(class portClass, n int) {
	if h.gap <= 0 || class == portBound {
		return
	}
	slot := 2*n + 2
	if class == portPacket {
		slot = 2*n + 1
	}
	time.Sleep(time.Duration(slot) * h.gap)
}

// local is the address a socket's packets carry as the host's side.
func (c *udpConn) local() *net.UDPAddr {
	la, _ := c.UDPConn.LocalAddr().(*net.UDPAddr)
	if la == nil {
		return nil
	}
	if la.IP.IsUnspecified() {
		return &net.UDPAddr{IP: c.h.ip, Port: la.Port}
	}
	return la
}

// blocked reports whether the firewall drops traffic with addr.
func (h *hostNet) blocked(addr net.Addr) bool {
	if !h.blockUDP {
		return false
	}
	ua, ok := addr.(*net.UDPAddr)
	return !ok || !h.allowed[ua.IP.String()]
}

// recvQueue is the number of packets a socket buffers for its reader before
// dropping, like a kernel socket receive buffer.
const recvQueue = 4096

func (h *hostNet) ListenPacket(network, address string) (net.PacketConn, error) {
	addr, err := h.ResolveUDPAddr(network, address)
	if err != nil {
		return nil, err
	}
	return h.listenUDP(network, addr, true)
}

func (h *hostNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	return h.listenUDP(network, laddr, false)
}

// listenUDP is ListenUDP; packet says the socket was asked for through
// ListenPacket, which takes its ephemeral port from a range of its own.
func (h *hostNet) listenUDP(network string, laddr *net.UDPAddr, packet bool) (transport.UDPConn, error) {
	if h.seg != nil && laddr != nil && laddr.IP.IsMulticast() {
		return h.listenGroup(network, laddr)
	}
	listen := func(a *net.UDPAddr) (transport.UDPConn, error) { return h.Net.ListenUDP(network, a) }
	class := classOf(laddr, packet)
	var c transport.UDPConn
	var err error
	if laddr == nil || laddr.Port == 0 {
		c, err = h.listenEphemeral(network, laddr, class, listen)
	} else {
		c, err = listen(laddr)
	}
	if err != nil {
		return nil, err
	}
	return h.wrap(h.rebindable(c, func() (transport.UDPConn, error) {
		c, _, err := h.bindEphemeral(network, ipOnly(laddr), class, listen)
		return c, err
	})), nil
}

func (h *hostNet) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	dial := func(a *net.UDPAddr) (transport.UDPConn, error) { return h.Net.DialUDP(network, a, raddr) }
	var c transport.UDPConn
	var err error
	class := classOf(laddr, false)
	if laddr == nil || laddr.Port == 0 {
		c, err = h.listenEphemeral(network, laddr, class, dial)
	} else {
		c, err = dial(laddr)
	}
	if err != nil {
		return nil, err
	}
	return h.wrap(h.rebindable(c, func() (transport.UDPConn, error) {
		c, _, err := h.bindEphemeral(network, ipOnly(laddr), class, dial)
		return c, err
	})), nil
}

func (h *hostNet) Dial(network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4":
		raddr, err := h.ResolveTCPAddr(network, address)
		if err != nil {
			return nil, err
		}
		return h.DialTCP(network, nil, raddr)
	case "udp", "udp4":
		raddr, err := h.ResolveUDPAddr(network, address)
		if err != nil {
			return nil, err
		}
		return h.DialUDP(network, nil, raddr)
	}
	return h.Net.Dial(network, address)
}

func (h *hostNet) CreateDialer(d *net.Dialer) transport.Dialer { return dialer{h} }

type dialer struct{ h *hostNet }

func (d dialer) Dial(network, address string) (net.Conn, error) { return d.h.Dial(network, address) }

func (h *hostNet) wrap(inner transport.UDPConn) *udpConn { return h.wrapGroup(inner, nil) }

// wrapGroup is wrap for a socket that listens on a multicast group
// (lan.go); group is set before its read loop starts.
func (h *hostNet) wrapGroup(inner transport.UDPConn, group *net.UDPAddr) *udpConn {
	c := &udpConn{
		UDPConn:  inner,
		h:        h,
		group:    group,
		inbox:    newInbox(),
		closed:   make(chan struct{}),
		deadline: makeDeadline(),
	}
	h.openMu.Lock()
	if h.open == nil {
		h.open = map[*udpConn]struct{}{}
	}
	h.open[c] = struct{}{}
	h.openMu.Unlock()
	if h.fabric != nil {
		if la, ok := inner.LocalAddr().(*net.UDPAddr); ok {
			c.port = la.Port
			h.socks.add(c.port, c)
		}
	}
	c.wg.Add(1)
	go c.readLoop()
	return c
}

// datagram is a packet on its way through the host's access link: its
// bytes in a buffer of the network's pool, and the far end's address (the
// destination on the way up, the source on the way down; nil on the way
// up for a connected socket's Write).
type datagram struct {
	buf  *[]byte
	addr net.Addr
}

func (d datagram) data() []byte { return *d.buf }

// udpConn sends through the host's uplink and receives through its downlink.
type udpConn struct {
	transport.UDPConn
	h         *hostNet
	inbox     *inbox // what the downlink delivered, for ReadFrom (inbox.go)
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	deadline  *deadline
	group     *net.UDPAddr // the multicast group and port it listens on (lan.go); nil for most
	port      int          // the port the host's fabric delivers to (0 without)
}

func (c *udpConn) readLoop() {
	defer c.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := c.UDPConn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if c.h.blocked(from) {
			c.h.down.firewalled()
			continue
		}
		c.h.down.send(c, datagram{buf: c.h.bufs.get(buf[:n]), addr: from}, false)
	}
}

// deliver hands a datagram that came out of the access link on: up to
// vnet (which copies it), or down to the socket's reader (which copies it
// in ReadFrom). Its buffer goes back to the pool after the copy.
func (c *udpConn) deliver(d datagram, up bool) {
	if up {
		if c.sendFabric(d) {
			return
		}
		if d.addr == nil {
			_, _ = c.UDPConn.Write(d.data())
		} else {
			_, _ = c.UDPConn.WriteTo(d.data(), d.addr)
		}
		c.h.bufs.put(d.buf)
		return
	}
	if c.h.capture != nil {
		ua, _ := d.addr.(*net.UDPAddr)
		dst := c.local()
		if c.group != nil {
			dst = c.group // what a group socket receives was sent to the group
		}
		c.h.capture.packet(time.Now(), ua, dst, d.data())
	}
	select {
	case <-c.closed:
	default:
		if c.inbox.push(d) {
			return
		}
		// receive buffer full: the kernel would drop it too
	}
	c.h.bufs.put(d.buf)
}

func (c *udpConn) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case <-c.closed:
		return 0, nil, net.ErrClosed
	default:
	}
	for {
		if d, ok := c.inbox.pop(); ok {
			n := copy(p, d.data())
			c.h.bufs.put(d.buf)
			return n, d.addr, nil
		}
		select {
		case <-c.inbox.ready: // look again
		case <-c.closed:
			return 0, nil, net.ErrClosed
		case <-c.deadline.wait():
			return 0, nil, os.ErrDeadlineExceeded
		}
	}
}

func (c *udpConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	n, a, err := c.ReadFrom(p)
	ua, _ := a.(*net.UDPAddr)
	return n, ua, err
}

func (c *udpConn) Read(p []byte) (int, error) {
	n, _, err := c.ReadFrom(p)
	return n, err
}

func (c *udpConn) ReadMsgUDP(b, _ []byte) (int, int, int, *net.UDPAddr, error) {
	n, a, err := c.ReadFromUDP(b)
	return n, 0, 0, a, err
}

func (c *udpConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	if c.h.blocked(addr) {
		c.h.up.firewalled()
		return len(p), nil
	}
	if c.h.capture != nil {
		ua, _ := addr.(*net.UDPAddr)
		c.h.capture.packet(time.Now(), c.local(), ua, p)
	}
	if c.h.seg != nil && isGroup(addr) {
		c.multicast(p, addr)
		return len(p), nil
	}
	c.h.up.send(c, datagram{buf: c.h.bufs.get(p), addr: addr}, true)
	return len(p), nil
}

func (c *udpConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) { return c.WriteTo(p, addr) }

func (c *udpConn) Write(p []byte) (int, error) {
	raddr := c.UDPConn.RemoteAddr()
	if raddr == nil {
		return 0, errors.New("netem: write on an unconnected socket")
	}
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	if c.h.blocked(raddr) {
		c.h.up.firewalled()
		return len(p), nil
	}
	if c.h.capture != nil {
		ua, _ := raddr.(*net.UDPAddr)
		c.h.capture.packet(time.Now(), c.local(), ua, p)
	}
	c.h.up.send(c, datagram{buf: c.h.bufs.get(p)}, true)
	return len(p), nil
}

func (c *udpConn) WriteMsgUDP(b, _ []byte, addr *net.UDPAddr) (int, int, error) {
	n, err := c.WriteTo(b, addr)
	return n, 0, err
}

func (c *udpConn) SetReadDeadline(t time.Time) error {
	c.deadline.set(t)
	return nil
}

func (c *udpConn) SetDeadline(t time.Time) error {
	c.deadline.set(t)
	return c.UDPConn.SetWriteDeadline(t)
}

func (c *udpConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		c.h.openMu.Lock()
		delete(c.h.open, c)
		c.h.openMu.Unlock()
		if c.group != nil {
			c.h.seg.leave(c)
		}
		if c.port != 0 {
			c.h.socks.remove(c.port, c)
		}
		close(c.closed)
		err = c.UDPConn.Close()
		c.wg.Wait()
	})
	return err
}

// bufPool recycles the buffers datagrams wait in while they cross a
// link, one pool per network: a packet took two copies, two closures and
// a boxed heap entry per link crossed, and a conference's runs spent more
// time allocating and collecting than moving packets (issue #21).
type bufPool struct{ p sync.Pool }

// pooledSize is the capacity of a pooled buffer: any datagram pion sends
// (its MTU is 1460 bytes, a TURN ChannelData header adds 4); larger ones
// get a buffer of their own.
const pooledSize = 1536

func newBufPool() *bufPool {
	return &bufPool{p: sync.Pool{New: func() any {
		b := make([]byte, 0, pooledSize)
		return &b
	}}}
}

// get returns a buffer holding a copy of p.
func (b *bufPool) get(p []byte) *[]byte {
	if len(p) > pooledSize {
		c := append([]byte(nil), p...)
		return &c
	}
	buf := b.p.Get().(*[]byte)
	*buf = append((*buf)[:0], p...)
	return buf
}

// put gives a buffer back once nothing refers to its bytes.
func (b *bufPool) put(buf *[]byte) {
	if buf != nil && cap(*buf) == pooledSize {
		b.p.Put(buf)
	}
}

// deadline is a settable read deadline whose wait channel closes when it
// passes. Readers blocked on the channel see a later change of deadline.
type deadline struct {
	mu    sync.Mutex
	gen   uint64
	timer *time.Timer
	ch    chan struct{}
}

func makeDeadline() *deadline { return &deadline{ch: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	select {
	case <-d.ch: // passed: start afresh
		d.ch = make(chan struct{})
	default:
	}
	if t.IsZero() {
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		close(d.ch)
		return
	}
	gen := d.gen
	d.timer = time.AfterFunc(dur, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen { // not superseded by a later set
			close(d.ch)
		}
	})
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}
