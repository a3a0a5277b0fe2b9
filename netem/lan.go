package netem

import (
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/pion/transport/v3"
	"github.com/pion/transport/v3/vnet"
)

// A LAN segment is what HostConfig.LAN names: hosts behind one NAT (one
// vnet router, so they reach each other's private addresses directly, and
// share its outside address) or, for hosts with no NAT, hosts side by
// side on the internet. It is also the reach of multicast: pion's vnet
// routes unicast only (a datagram to 224.0.0.251 goes up the router tree
// and is lost), so netem delivers a datagram sent to a multicast group to
// every socket of the segment's other hosts that listens on the group's
// port. It crosses the sender's uplink and each receiver's downlink like
// any datagram (fate, delay, rate, capture); it never crosses a NAT
// (RFC 6762 section 11: link-local scope). Hosts that name no LAN have no
// segment, and their sockets pay nothing for it (one nil check per send).

// lanSegment is one LAN.
type lanSegment struct {
	name    string
	nat     NAT
	home    *NATConfig
	cgn     *NATConfig
	router  *vnet.Router // the shared NAT's inside router; nil for open hosts
	cidr    string
	public  net.IP
	hosts   int    // hosts behind router so far
	firstOf string // the host that made the segment, for error messages
	mu      sync.Mutex
	groups  map[string][]*udpConn // "group:port" -> listening sockets, in the order they joined
}

// segment returns the LAN hc names (nil: none), and whether hc joins a
// NAT already built for it (then the caller places hc with join).
func (n *Network) segment(hc HostConfig, home, cgn *NATConfig) (*lanSegment, bool, error) {
	if hc.LAN == "" {
		return nil, false, nil
	}
	if n.lans == nil {
		n.lans = map[string]*lanSegment{}
	}
	nat := hc.NAT
	if nat == "" {
		nat = Open
	}
	s := n.lans[hc.LAN]
	if s == nil {
		s = &lanSegment{name: hc.LAN, nat: nat, home: home, cgn: cgn, firstOf: hc.Name, groups: map[string][]*udpConn{}}
		n.lans[hc.LAN] = s
		return s, false, nil
	}
	if nat != s.nat || !sameNAT(home, s.home) || !sameNAT(cgn, s.cgn) {
		return nil, false, fmt.Errorf("host %s: %w: LAN %q has one NAT, host %s's (%s); this host declares %s",
			hc.Name, ErrConfig, hc.LAN, s.firstOf, s.nat, nat)
	}
	return s, s.router != nil, nil
}

func sameNAT(a, b *NATConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Mapping == b.Mapping && a.Filtering == b.Filtering && a.Lifetime == b.Lifetime
}

// join places one more host behind the segment's NAT: the next address
// of its /24 (the first host is .2).
func (s *lanSegment) join(host string) (net.IP, *vnet.Net, error) {
	if s.hosts >= 250 {
		return nil, nil, fmt.Errorf("host %s: %w: LAN %q is full (250 hosts)", host, ErrConfig, s.name)
	}
	ip := nthIP(s.cidr, 2+s.hosts)
	vn, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip.String()}})
	if err != nil {
		return nil, nil, fmt.Errorf("netem: host %s: %w", host, err)
	}
	if err := s.router.AddNet(vn); err != nil {
		return nil, nil, fmt.Errorf("netem: host %s: %w", host, err)
	}
	s.hosts++
	return ip, vn, nil
}

// isGroup reports whether a is a multicast address.
func isGroup(a net.Addr) bool {
	ua, ok := a.(*net.UDPAddr)
	return ok && ua.IP.IsMulticast()
}

func groupKey(a *net.UDPAddr) string { return (&net.UDPAddr{IP: a.IP, Port: a.Port}).String() }

// listenGroup opens a socket that receives what the segment's other hosts
// send to group (a multicast address and port), as a socket bound to
// 0.0.0.0:port with the group joined would. Its own sends leave from the
// host's address at the group's port, or at an ephemeral port when
// another of the host's sockets holds that one (a real host would share
// it with SO_REUSEADDR; vnet cannot).
func (h *hostNet) listenGroup(network string, group *net.UDPAddr) (transport.UDPConn, error) {
	listen := func(a *net.UDPAddr) (transport.UDPConn, error) { return h.Net.ListenUDP(network, a) }
	inner, err := listen(&net.UDPAddr{IP: h.ip, Port: group.Port})
	if err != nil {
		inner, err = h.listenEphemeral(network, &net.UDPAddr{IP: h.ip}, portBound, listen)
	}
	if err != nil {
		return nil, fmt.Errorf("netem: listen on group %s: %w", group, err)
	}
	c := h.wrapGroup(inner, &net.UDPAddr{IP: group.IP, Port: group.Port})
	key := groupKey(group)
	h.seg.mu.Lock()
	h.seg.groups[key] = append(h.seg.groups[key], c)
	h.seg.mu.Unlock()
	return c, nil
}

// leave takes a closed socket out of its group.
func (s *lanSegment) leave(c *udpConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := groupKey(c.group)
	s.groups[key] = slices.DeleteFunc(s.groups[key], func(m *udpConn) bool { return m == c })
}

// multicast sends p to a group: the host's other sockets on the group
// get a copy at once (multicast loopback, on by default: RFC 1112 section
// 6.3; the sending socket itself gets none), the other hosts' sockets
// through the sender's uplink and their downlinks (fanout.WriteTo).
func (c *udpConn) multicast(p []byte, group net.Addr) {
	key := groupKey(group.(*net.UDPAddr))
	src := c.local()
	c.h.seg.mu.Lock()
	members := slices.Clone(c.h.seg.groups[key])
	c.h.seg.mu.Unlock()
	for _, m := range members {
		if m != c && m.h == c.h {
			m.deliver(datagram{buf: m.h.bufs.get(p), addr: src}, false)
		}
	}
	out := &udpConn{UDPConn: fanout{seg: c.h.seg, from: c.h, src: src, key: key}, h: c.h}
	c.h.up.send(out, datagram{buf: c.h.bufs.get(p), addr: group}, true)
}

// fanout stands for the segment where a multicast datagram leaves the
// sender's uplink: its WriteTo offers a copy to the downlink of each
// listener on another host.
type fanout struct {
	transport.UDPConn // nil: only WriteTo is called (udpConn.deliver)
	seg               *lanSegment
	from              *hostNet
	src               *net.UDPAddr
	key               string
}

func (f fanout) WriteTo(p []byte, _ net.Addr) (int, error) {
	f.seg.mu.Lock()
	members := slices.Clone(f.seg.groups[f.key])
	f.seg.mu.Unlock()
	for _, m := range members {
		if m.h == f.from {
			continue
		}
		if m.h.blocked(f.src) {
			m.h.down.firewalled()
			continue
		}
		m.h.down.send(m, datagram{buf: m.h.bufs.get(p), addr: f.src}, false)
	}
	return len(p), nil
}
