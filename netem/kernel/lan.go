package kernel

import (
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/rtclab/rtclab/netem"
)

// lanGroup is a LAN segment (netem.HostConfig.LAN): hosts behind one NAT
// namespace, each with its own TUN link into it, which routes between
// them (their private addresses are one /24) and translates for all of
// them; or, for hosts with no NAT, hosts side by side on the internet.
// Multicast (mDNS, RFC 6762) reaches the segment's other hosts and
// nothing else: rtclab hands a multicast datagram that leaves a host's
// uplink to every other host's downlink (the kernel does not route
// multicast, and link-local scope ends at the NAT: RFC 6762 section 11),
// as the in-process backend's segment does (netem/lan.go).
type lanGroup struct {
	name   string
	nat    *natSpec // the shared NAT; nil for open hosts
	natNS  string
	public net.IP
	base   net.IP // the segment's first host address (.2); the next hosts follow
	first  netem.HostConfig

	mu      sync.Mutex
	members []*wire
}

func (g *lanGroup) add(w *wire) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members = append(g.members, w)
	w.lan = g
}

// fanout offers a copy of a multicast packet from one host to the
// downlink of each other host on the segment.
func (g *lanGroup) fanout(from *wire, p []byte) {
	g.mu.Lock()
	members := slices.Clone(g.members)
	g.mu.Unlock()
	for _, m := range members {
		if m != from {
			m.down.SendIP(slices.Clone(p), m.deliver)
		}
	}
}

// sameNAT reports whether two hosts of one LAN declare the same NAT.
func sameNAT(a, b netem.HostConfig) bool {
	eq := func(x, y *netem.NATConfig) bool {
		if x == nil || y == nil {
			return x == y
		}
		return x.Mapping == y.Mapping && x.Filtering == y.Filtering && x.Lifetime == y.Lifetime
	}
	return a.NAT == b.NAT && eq(a.HomeNAT, b.HomeNAT) && eq(a.CGN, b.CGN)
}

// joinLAN places host i on the LAN g whose NAT the first host made: the
// next address of its /24, a TUN link into the NAT's namespace.
func (n *Network) joinLAN(cfg netem.Config, g *lanGroup, i int, hc netem.HostConfig) error {
	g.mu.Lock()
	k := len(g.members)
	g.mu.Unlock()
	if k >= 250 {
		return fmt.Errorf("%w: LAN %q is full (250 hosts)", netem.ErrConfig, g.name)
	}
	ip := slices.Clone(g.base.To4())
	ip[3] += byte(k)
	hostNS, err := n.namespace(fmt.Sprintf("h%d", i))
	if err != nil {
		return err
	}
	w, err := n.link(cfg, hc.Name, hc, hostNS, ip, 24, g.natNS, fmt.Sprintf("tun%d", k), nil)
	if err != nil {
		return err
	}
	g.add(w)
	home, cgn, fw, _ := hc.Resolve()
	return n.addHost(netem.ExternalHost{Name: hc.Name, NAT: g.first.NAT, Behaviour: netem.Describe(home, cgn, fw),
		IP: ip, PublicIP: g.public, Up: w.up, Down: w.down}, hostNS)
}
