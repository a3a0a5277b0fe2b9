package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// This file relays ChannelData (RFC 8656 §12) of UDP clients without
// pion/turn v4.1.3's per-datagram work, the one place that works around
// its cost: for each relayed message pion formats log arguments that its
// disabled logger then drops (the client's address as a string, boxed
// lengths), converts addresses to 16-byte keys to find the allocation,
// and copies the data into a fresh ChannelData buffer: with rtclab's own
// per-datagram list of listen addresses (now built once), 19 allocations
// and 1391 bytes per message (BenchmarkRelayChannelData). Under
// turnutils_uclient -m 200 the garbage collector took 11 % of serve's CPU
// (perf record), part of why serve spent 21 µs per relayed message where
// coturn spends 15 (issue #17). Upstream: no pion/turn issue covers it
// yet (searched 2026-11-30; internal/server/turn.go handleChannelData,
// internal/allocation/allocation.go packetHandler).
//
// Pion stays the authority: the fast path mirrors pion's allocations,
// permissions and channel bindings from pion's own events (created when
// pion grants them, deleted when pion's lifetime timers or a Refresh with
// LIFETIME 0 remove them), and relays a datagram only while the mirror
// holds its channel; everything else goes to pion as before. It is
// stricter than pion in one way: data on a bound channel whose peer's
// permission has expired (a binding lives 10 minutes, a permission 5) is
// discarded in both directions, as RFC 8656 §9 requires; pion relays it.

// channelLifetime is what pion is told a channel binding lives (RFC 8656
// §12: 10 minutes); pion's permissions live 5 (RFC 8656 §9).
const channelLifetime = 10 * time.Minute

// fastPath is the mirror of pion's state the data path needs.
type fastPath struct {
	// own are the server's listen addresses: a channel to one of them is
	// left to pion, whose relay socket drops its data (ownPortsGuard).
	own func() []net.Addr
	// out writes ChannelData to clients: a listening socket (any one of
	// the SO_REUSEPORT group sends from the listen address).
	out *net.UDPConn

	mu sync.RWMutex
	// clients are the UDP clients' allocations by transport address.
	clients map[netip.AddrPort]*fastAlloc
	// relays are relay sockets by port, from their opening until pion
	// reports the allocation they serve.
	relays map[int]*guardedRelay
	// byRelay are the UDP clients' allocations by relayed transport
	// address (hairpin).
	byRelay map[netip.AddrPort]*fastAlloc
}

// fastAlloc is one allocation of a UDP client.
type fastAlloc struct {
	client    netip.AddrPort
	relayAddr netip.AddrPort // the relayed transport address pion reported
	relay     *net.UDPConn
	guard     *guardedRelay

	mu       sync.RWMutex
	byNumber map[uint16]netip.AddrPort // channel number -> peer
	byPeer   map[netip.AddrPort]uint16 // peer -> channel number
	perms    map[netip.Addr]bool       // peers' IP addresses permitted
}

func newFastPath(out *net.UDPConn, own func() []net.Addr) *fastPath {
	return &fastPath{
		out: out, own: own, clients: map[netip.AddrPort]*fastAlloc{}, relays: map[int]*guardedRelay{},
		byRelay: map[netip.AddrPort]*fastAlloc{},
	}
}

// udpAddrPort is a's address when a is a UDP address, IPv4 unmapped.
func udpAddrPort(a net.Addr) (netip.AddrPort, bool) {
	u, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := u.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.IsValid()
}

func ipAddr(ip net.IP) (netip.Addr, bool) {
	a, ok := netip.AddrFromSlice(ip)
	return a.Unmap(), ok
}

// opened registers a relay socket pion is about to give an allocation.
func (p *fastPath) opened(r *guardedRelay) {
	if _, ok := r.PacketConn.(*net.UDPConn); !ok {
		return
	}
	_, port := addrIPPort(r.LocalAddr())
	p.mu.Lock()
	p.relays[port] = r
	p.mu.Unlock()
}

// closed forgets a relay socket closed before pion used it.
func (p *fastPath) closed(r *guardedRelay) {
	_, port := addrIPPort(r.LocalAddr())
	p.mu.Lock()
	if p.relays[port] == r {
		delete(p.relays, port)
	}
	p.mu.Unlock()
}

func (p *fastPath) alloc(client net.Addr) *fastAlloc {
	ap, ok := udpAddrPort(client)
	if !ok {
		return nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.clients[ap]
}

// events mirrors pion's state; next are the handlers it wraps.
func (p *fastPath) events(next pionturn.EventHandler) pionturn.EventHandler {
	h := next
	h.OnAllocationCreated = func(src, dst net.Addr, proto, user, realm string, relayAddr net.Addr, port int) {
		p.allocated(src, relayAddr)
		if next.OnAllocationCreated != nil {
			next.OnAllocationCreated(src, dst, proto, user, realm, relayAddr, port)
		}
	}
	h.OnAllocationDeleted = func(src, dst net.Addr, proto, user, realm string) {
		p.deleted(src)
		if next.OnAllocationDeleted != nil {
			next.OnAllocationDeleted(src, dst, proto, user, realm)
		}
	}
	h.OnPermissionCreated = func(src, dst net.Addr, proto, user, realm string, relayAddr net.Addr, peer net.IP) {
		p.permission(src, peer, true)
		if next.OnPermissionCreated != nil {
			next.OnPermissionCreated(src, dst, proto, user, realm, relayAddr, peer)
		}
	}
	h.OnPermissionDeleted = func(src, dst net.Addr, proto, user, realm string, relayAddr net.Addr, peer net.IP) {
		p.permission(src, peer, false)
		if next.OnPermissionDeleted != nil {
			next.OnPermissionDeleted(src, dst, proto, user, realm, relayAddr, peer)
		}
	}
	h.OnChannelCreated = func(src, dst net.Addr, proto, user, realm string, relayAddr, peer net.Addr, ch uint16) {
		p.channel(src, peer, ch, true)
		if next.OnChannelCreated != nil {
			next.OnChannelCreated(src, dst, proto, user, realm, relayAddr, peer, ch)
		}
	}
	h.OnChannelDeleted = func(src, dst net.Addr, proto, user, realm string, relayAddr, peer net.Addr, ch uint16) {
		p.channel(src, peer, ch, false)
		if next.OnChannelDeleted != nil {
			next.OnChannelDeleted(src, dst, proto, user, realm, relayAddr, peer, ch)
		}
	}
	return h
}

func (p *fastPath) allocated(src, relayAddr net.Addr) {
	client, ok := udpAddrPort(src)
	if !ok {
		return
	}
	_, port := addrIPPort(relayAddr)
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.relays[port]
	delete(p.relays, port)
	if r == nil {
		return
	}
	a := &fastAlloc{
		client: client, relay: r.PacketConn.(*net.UDPConn), guard: r,
		byNumber: map[uint16]netip.AddrPort{}, byPeer: map[netip.AddrPort]uint16{}, perms: map[netip.Addr]bool{},
	}
	p.clients[client] = a
	if ra, ok := udpAddrPort(relayAddr); ok && !ra.Addr().IsUnspecified() {
		a.relayAddr = ra
		p.byRelay[ra] = a
	}
	r.fast.Store(a)
}

func (p *fastPath) deleted(src net.Addr) {
	client, ok := udpAddrPort(src)
	if !ok {
		return
	}
	p.mu.Lock()
	if a := p.clients[client]; a != nil {
		a.guard.fast.Store(nil)
		delete(p.clients, client)
		if p.byRelay[a.relayAddr] == a {
			delete(p.byRelay, a.relayAddr)
		}
	}
	p.mu.Unlock()
}

func (p *fastPath) permission(src net.Addr, peer net.IP, granted bool) {
	a := p.alloc(src)
	ip, ok := ipAddr(peer)
	if a == nil || !ok {
		return
	}
	a.mu.Lock()
	if granted {
		a.perms[ip] = true
	} else {
		delete(a.perms, ip)
	}
	a.mu.Unlock()
}

func (p *fastPath) channel(src, peer net.Addr, ch uint16, bound bool) {
	a := p.alloc(src)
	ap, ok := udpAddrPort(peer)
	if a == nil || !ok || (bound && isOwn(p.own(), ap)) {
		return
	}
	a.mu.Lock()
	if bound {
		a.byNumber[ch], a.byPeer[ap] = ap, ch
	} else {
		delete(a.byNumber, ch)
		delete(a.byPeer, ap)
	}
	a.mu.Unlock()
}

func isOwn(own []net.Addr, peer netip.AddrPort) bool {
	for _, a := range own {
		ip, port := addrIPPort(a)
		if port == int(peer.Port()) && (ip.IsUnspecified() || ip.Equal(net.IP(peer.Addr().AsSlice()))) {
			return true
		}
	}
	return false
}

// verdict is what the fast path did with a datagram.
type verdict int

const (
	toPion  verdict = iota // not the fast path's: pion handles it
	relayed                // sent on
	dropped                // discarded (RFC 8656 §9: no permission)
)

// fromClient relays ChannelData b from client to its channel's peer
// through the allocation's relay socket.
func (p *fastPath) fromClient(b []byte, client netip.AddrPort) verdict {
	// RFC 8656 §12.4: channel numbers 0x4000-0x7FFF start with 0b01; a
	// length past the datagram is pion's to discard.
	if len(b) < 4 || b[0]>>6 != 1 || 4+int(binary.BigEndian.Uint16(b[2:4])) > len(b) {
		return toPion
	}
	p.mu.RLock()
	a := p.clients[client]
	p.mu.RUnlock()
	if a == nil {
		return toPion
	}
	a.mu.RLock()
	peer, bound := a.byNumber[binary.BigEndian.Uint16(b[0:2])]
	permitted := a.perms[peer.Addr()]
	a.mu.RUnlock()
	switch {
	case !bound:
		return toPion
	case !permitted:
		return dropped
	}
	if v, ok := p.hairpin(a, peer, b); ok {
		return v
	}
	_, _ = a.relay.WriteToUDPAddrPort(b[4:4+int(binary.BigEndian.Uint16(b[2:4]))], peer)
	return relayed
}

// hairpin relays ChannelData b of allocation a, bound for peer, straight
// to the client of the allocation whose relayed address peer is, as that
// relay socket would on receiving the data from a's relayed address
// (toClient: its channel to a's relayed address, its permission for that
// address's IP): the datagram would only have crossed the loopback, a
// send and a receive system call and a goroutine's wake-up more per
// message. Two clients relayed by one server (both behind symmetric NATs,
// or both relay-only) talk this way; so does turnutils_uclient -y, where
// it took serve's CPU per message from 16.9 to 10 µs (issue #17; coturn
// does not hairpin: 13.5). false when peer is no relayed address of this
// server's UDP allocations, that allocation has no channel to a's
// relayed address (pion's socket path then sends a Data indication), or
// b has no room for the padding.
func (p *fastPath) hairpin(a *fastAlloc, peer netip.AddrPort, b []byte) (verdict, bool) {
	p.mu.RLock()
	to := p.byRelay[peer]
	p.mu.RUnlock()
	if to == nil || !a.relayAddr.IsValid() {
		return toPion, false
	}
	end := 4 + int(binary.BigEndian.Uint16(b[2:4]))
	padded := (end + 3) &^ 3
	if padded > cap(b) {
		return toPion, false
	}
	to.mu.RLock()
	ch, bound := to.byPeer[a.relayAddr]
	permitted := to.perms[a.relayAddr.Addr()]
	to.mu.RUnlock()
	switch {
	case !bound:
		return toPion, false
	case !permitted:
		return dropped, true
	}
	b = b[:padded]
	binary.BigEndian.PutUint16(b[0:2], ch)
	clear(b[end:])
	_, _ = p.out.WriteToUDPAddrPort(b, to.client)
	return relayed, true
}

// toClient relays the datagram in buf[4:4+n] from peer to the client as
// ChannelData, writing the header into buf[:4] and padding to 4 bytes as
// pion does (RFC 8656 §12.5: optional over UDP). buf must have room for
// the padding.
func (p *fastPath) toClient(a *fastAlloc, buf []byte, n int, peer netip.AddrPort) verdict {
	a.mu.RLock()
	ch, bound := a.byPeer[peer]
	permitted := a.perms[peer.Addr()]
	a.mu.RUnlock()
	switch {
	case !bound:
		return toPion // a Data indication, or nothing: pion decides
	case !permitted:
		return dropped
	}
	binary.BigEndian.PutUint16(buf[0:2], ch)
	binary.BigEndian.PutUint16(buf[2:4], uint16(n)) //nolint:gosec // n <= len(buf)-4 < 64 KiB
	end := 4 + n
	for end%4 != 0 {
		buf[end] = 0
		end++
	}
	_, _ = p.out.WriteToUDPAddrPort(buf[:end], a.client)
	return relayed
}

// readRelay reads r's next datagram for pion, relaying bound channels'
// data itself.
func (r *guardedRelay) readRelay(udp *net.UDPConn, p []byte) (int, net.Addr, error) {
	if len(r.buf) < len(p)+8 {
		r.buf = make([]byte, len(p)+8)
	}
	for {
		n, peer, err := readFromUDP(udp, r.buf[4:4+len(p)])
		if err != nil {
			return 0, nil, err
		}
		if a := r.fast.Load(); a != nil && r.path.toClient(a, r.buf, n, peer) != toPion {
			continue
		}
		return copy(p, r.buf[4:4+n]), net.UDPAddrFromAddrPort(peer), nil
	}
}

// fastAllocOf is for tests: the mirrored allocation of client.
func (p *fastPath) fastAllocOf(client netip.AddrPort) *fastAlloc {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.clients[client]
}
