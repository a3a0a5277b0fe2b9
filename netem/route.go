package netem

import (
	"net"
	"sync"
	"time"
)

// fabric carries UDP datagrams from one host's socket to another's the way
// pion's vnet routes them (routers in a tree, NAPT at each NAT, a socket
// looked up by port at the destination), without going through vnet.
//
// Why: pion/transport v3.1.1's vnet formats every packet it routes for
// debug logs it then discards. Router.push logs c.String() and the NAT
// logs from.String() and to.String() for every translation (vnet
// router.go and nat.go); the arguments are built before the logger looks
// at its level, so no LoggerFactory can make them cheap, and v3.1.1 is
// the newest transport/v3 (webrtc v4.2.1 needs it). With its NAT keys
// built by fmt.Sprintf, its chunk copies and its goroutine per router,
// vnet took a fifth of a quickstart run's CPU and two thirds of its
// allocations (issue #19). vnet still binds the sockets, resolves names
// and carries what the fabric does not (loopback; every packet of a
// network with a rebindable host, whose inside sockets change under it).
//
// The semantics are vnet's, rule for rule (nat.go translateOutbound,
// translateInbound, findOutboundMapping, findInboundMapping; router.go
// processChunks; conn_map.go find), so the NAT matrix and every report
// are the same with either path:
//   - a router delivers a datagram whose destination is in its subnet to
//     the host or NAT with that address, or drops it; otherwise its NAT
//     translates it outbound and hands it to its parent; the internet
//     (0.0.0.0/0) drops what it has no host or NAT for;
//   - a NAT maps an inside address:port per its mapping behaviour (one
//     mapping; per destination address; per destination address:port) to
//     outside port 0xC000 + a counter that never goes back; it lets in
//     only senders its filtering behaviour has seen the mapping send to;
//     a mapping lives its lifetime after the last outbound packet
//     (inbound packets do not refresh it, RFC 4787 REQ-6), and an expired
//     one is dropped when next looked up;
//   - a connected socket drops datagrams from anyone but its peer.
type fabric struct {
	mu  sync.Mutex
	wan *router
	// addrs holds one *net.UDPAddr per source address seen, handed to
	// every receiver of a datagram from it (vnet made two allocations of
	// each per datagram); readers do not change the addresses they get.
	addrs map[endpoint]*net.UDPAddr
}

// addr returns the shared *net.UDPAddr of e. Called with f.mu held.
func (f *fabric) addr(e endpoint) *net.UDPAddr {
	a := f.addrs[e]
	if a == nil {
		if f.addrs == nil {
			f.addrs = map[endpoint]*net.UDPAddr{}
		}
		a = e.addr()
		f.addrs[e] = a
	}
	return a
}

// router is one node of the tree: the internet, or a NAT and its subnet.
type router struct {
	subnet *net.IPNet
	parent *router
	nat    *natTable // nil for the internet
	nics   map[[4]byte]nic
}

// nic is what a router delivers to: a host, or a NAT below it.
type nic struct {
	host  *hostNet
	child *router
}

func newRouter(cidr string, parent *router, nat *natTable) *router {
	_, subnet, err := net.ParseCIDR(cidr)
	if err != nil {
		panic(err) // constant input
	}
	return &router{subnet: subnet, parent: parent, nat: nat, nics: map[[4]byte]nic{}}
}

func ip4(ip net.IP) (k [4]byte) {
	copy(k[:], ip.To4())
	return k
}

// endpoint is an IPv4 address and port, comparable.
type endpoint struct {
	ip   [4]byte
	port int
}

func endpointOf(a *net.UDPAddr) endpoint { return endpoint{ip: ip4(a.IP), port: a.Port} }

func (e endpoint) addr() *net.UDPAddr {
	return &net.UDPAddr{IP: net.IPv4(e.ip[0], e.ip[1], e.ip[2], e.ip[3]).To4(), Port: e.port}
}

// natTable is one NAT's mappings (vnet nat.go, NATModeNormal).
type natTable struct {
	mapping, filtering Dependency
	lifetime           time.Duration
	outside            [4]byte
	counter            int
	out                map[outKey]*natMapping
	in                 map[int]*natMapping // by outside port
}

type outKey struct {
	local endpoint
	bound endpoint // the part of the destination the mapping depends on
}

type natMapping struct {
	key     outKey
	port    int
	filters map[endpoint]struct{}
	expires time.Time
}

func newNATTable(c *NATConfig, outside net.IP) *natTable {
	life := c.Lifetime
	if life == 0 {
		life = DefaultMappingLifetime
	}
	return &natTable{mapping: c.Mapping, filtering: c.Filtering, lifetime: life, outside: ip4(outside),
		out: map[outKey]*natMapping{}, in: map[int]*natMapping{}}
}

// depend keeps the part of addr a behaviour depends on.
func depend(d Dependency, addr endpoint) endpoint {
	switch d {
	case AddressDependent:
		return endpoint{ip: addr.ip}
	case AddressAndPortDependent:
		return addr
	}
	return endpoint{}
}

// outbound translates the source of a datagram leaving the NAT.
func (n *natTable) outbound(src, dst endpoint, now time.Time) endpoint {
	key := outKey{local: src, bound: depend(n.mapping, dst)}
	filter := depend(n.filtering, dst)
	m := n.out[key]
	if m != nil {
		if now.After(m.expires) {
			n.remove(m)
			m = nil
		} else {
			m.expires = now.Add(n.lifetime)
		}
	}
	if m == nil {
		m = &natMapping{key: key, port: 0xC000 + n.counter, filters: map[endpoint]struct{}{}, expires: now.Add(n.lifetime)}
		n.counter++
		n.out[key] = m
		n.in[m.port] = m
	}
	m.filters[filter] = struct{}{}
	return endpoint{ip: n.outside, port: m.port}
}

// inbound translates the destination of a datagram entering the NAT;
// false when no mapping lets it in.
func (n *natTable) inbound(src, dst endpoint, now time.Time) (endpoint, bool) {
	m := n.in[dst.port]
	if m == nil {
		return endpoint{}, false
	}
	if now.After(m.expires) {
		n.remove(m)
		return endpoint{}, false
	}
	if _, ok := m.filters[depend(n.filtering, src)]; !ok {
		return endpoint{}, false
	}
	return m.key.local, true
}

func (n *natTable) remove(m *natMapping) {
	delete(n.out, m.key)
	delete(n.in, m.port)
}

// route finds the host a datagram from src to dst reaches, starting at
// router r, the source address it arrives with and the destination
// address; a nil host when it is dropped on the way.
func (f *fabric) route(r *router, src, dst endpoint) (*hostNet, *net.UDPAddr, endpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for {
		if r.subnet.Contains(net.IP(dst.ip[:])) {
			n, ok := r.nics[dst.ip]
			if !ok {
				return nil, nil, dst // unreachable
			}
			if n.host != nil {
				return n.host, f.addr(src), dst
			}
			inside, ok := n.child.nat.inbound(src, dst, now)
			if !ok {
				return nil, nil, dst // no mapping, or filtered
			}
			r, dst = n.child, inside
			continue
		}
		if r.parent == nil {
			return nil, nil, dst // no route
		}
		src = r.nat.outbound(src, dst, now)
		r = r.parent
	}
}

// sockets is a host's UDP sockets by port, for the fabric's deliveries
// (a host has one address, so a port names one socket).
type sockets struct {
	mu     sync.Mutex
	byPort map[int]*udpConn
}

func (s *sockets) add(port int, c *udpConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byPort == nil {
		s.byPort = map[int]*udpConn{}
	}
	s.byPort[port] = c
}

func (s *sockets) remove(port int, c *udpConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byPort[port] == c {
		delete(s.byPort, port)
	}
}

func (s *sockets) get(port int) *udpConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byPort[port]
}

// sendFabric carries a datagram that came out of c's uplink to its
// destination socket's downlink; false when the fabric does not carry it
// (vnet does). The datagram's buffer goes with it, or back to the pool.
func (c *udpConn) sendFabric(d datagram) bool {
	h := c.h
	if h.fabric == nil || c.port == 0 {
		return false
	}
	addr := d.addr
	if addr == nil {
		addr = c.UDPConn.RemoteAddr()
	}
	dst, ok := addr.(*net.UDPAddr)
	if !ok || dst.IP.To4() == nil || dst.IP.IsLoopback() || dst.IP.IsUnspecified() {
		return false
	}
	// The host has one address: a socket bound to it or to none sends
	// from it.
	to, src, at := h.fabric.route(h.router, endpoint{ip: ip4(h.ip), port: c.port}, endpointOf(dst))
	var sock *udpConn
	if to != nil {
		sock = to.socks.get(at.port)
	}
	if sock == nil {
		h.bufs.put(d.buf)
		return true
	}
	if ra, _ := sock.UDPConn.RemoteAddr().(*net.UDPAddr); ra != nil && endpointOf(ra) != endpointOf(src) {
		h.bufs.put(d.buf) // a connected socket hears only its peer
		return true
	}
	if sock.h.blocked(src) {
		sock.h.down.firewalled()
		h.bufs.put(d.buf)
		return true
	}
	sock.h.down.send(sock, datagram{buf: d.buf, addr: src}, false)
	return true
}
