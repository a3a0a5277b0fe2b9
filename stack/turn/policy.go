package turn

import (
	"net"
	"net/netip"
	"sync/atomic"

	pionturn "github.com/pion/turn/v4"
)

// PeerAllowed is the default relay policy (RFC 8656 §21.3: a TURN server
// must not become a way into the networks behind it). It refuses every
// IPv4 and IPv6 special-purpose range that is not globally reachable
// (RFC 6890 and the IANA registries that follow it): loopback, private
// (RFC 1918, RFC 4193), link-local (and the cloud metadata address
// 169.254.169.254 within it), unspecified and "this network", shared
// CGNAT space (RFC 6598), IETF protocol assignments (192.0.0.0/24),
// benchmarking (RFC 2544, 198.18.0.0/15), reserved (240.0.0.0/4) and
// broadcast, multicast, and the IPv6 forms that embed an IPv4 address a
// relay could be tricked into reaching: IPv4-mapped (::ffff:0:0/96, the
// form of CVE-2020-26262's sequel), IPv4-compatible (::/96) and NAT64
// (64:ff9b::/96, 64:ff9b:1::/48, RFC 6052, RFC 8215).
//
// Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
// 2001:db8::/32) stay allowed: the emulated networks give hosts those
// addresses.
func PeerAllowed(ip net.IP) bool {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	// A 16-byte slice holding ::ffff:a.b.c.d came as an IPv6 XOR-PEER-ADDRESS.
	if len(ip) == net.IPv6len && addr.Is4In6() {
		return false
	}
	addr = addr.Unmap()
	if addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsUnspecified() || addr.IsMulticast() ||
		addr.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range deniedPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// deniedPrefixes are the special-purpose ranges netip has no predicate for.
var deniedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network", RFC 791
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space (CGNAT), RFC 6598
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments, RFC 6890
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking, RFC 2544
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and 255.255.255.255 broadcast
	netip.MustParsePrefix("::/96"),          // IPv4-compatible (deprecated), and :: and ::1
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64 well-known prefix, RFC 6052
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64, RFC 8215
	netip.MustParsePrefix("2002::/16"),      // 6to4, RFC 3056: embeds an IPv4 address
	netip.MustParsePrefix("100::/64"),       // discard-only, RFC 6666
	netip.MustParsePrefix("2001:2::/48"),    // benchmarking, RFC 5180
	netip.MustParsePrefix("ff00::/8"),       // IPv6 multicast (all scopes)
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated), RFC 3879
}

// AllowingPeers returns policy with the prefixes of allowed let through
// even where policy refuses them: the operator's exceptions, like coturn's
// allowed-peer-ip (tests give their own loopback peers this way).
func AllowingPeers(policy func(net.IP) bool, allowed []netip.Prefix) func(net.IP) bool {
	if len(allowed) == 0 {
		return policy
	}
	return func(ip net.IP) bool {
		if a, ok := netip.AddrFromSlice(ip); ok {
			for _, p := range allowed {
				if p.Contains(a) {
					return true
				}
			}
		}
		return policy(ip)
	}
}

// peerFamilyMatches reports whether peer, as decoded from XOR-PEER-ADDRESS
// (4 bytes for the IPv4 family, 16 for IPv6), has the relay's family. RFC
// 8656 §10.2 and §12.2 answer a mismatch with 443; PeerAllowed alone would
// let 2001:db8::1 through on an IPv4 relay.
func peerFamilyMatches(relay, peer net.IP) bool {
	return (relay.To4() != nil) == (len(peer) == net.IPv4len)
}

// ownPortsGuard keeps relayed datagrams away from the server's own
// listeners (RFC 8656 §21.3): permissions are per IP address, so a client
// permitted to talk to the relay's host could otherwise send TURN or STUN
// requests to the server from its own relay address (a loop, and requests
// that appear to come from inside). own returns the listener addresses.
type ownPortsGuard struct {
	pionturn.RelayAddressGenerator
	own func() []net.Addr
	// fast, when set, relays the socket's bound channels (fastpath.go).
	fast *fastPath
}

func (g ownPortsGuard) AllocatePacketConn(network string, requestedPort int) (net.PacketConn, net.Addr, error) {
	pc, addr, err := g.RelayAddressGenerator.AllocatePacketConn(network, requestedPort)
	if err != nil {
		return nil, nil, err
	}
	r := &guardedRelay{PacketConn: pc, own: g.own}
	if g.fast != nil {
		g.fast.opened(r)
		r.path = g.fast
	}
	return r, addr, nil
}

type guardedRelay struct {
	net.PacketConn
	own func() []net.Addr
	// path is the fast path that knows this socket; fast its allocation
	// once pion reported it; buf the read buffer with room for a
	// ChannelData header (only pion's one reader goroutine uses it).
	path *fastPath
	fast atomic.Pointer[fastAlloc]
	buf  []byte
}

// ReadFrom hands pion what the fast path does not relay itself.
func (r *guardedRelay) ReadFrom(p []byte) (int, net.Addr, error) {
	if udp, ok := r.PacketConn.(*net.UDPConn); ok && r.path != nil {
		return r.readRelay(udp, p)
	}
	return r.PacketConn.ReadFrom(p)
}

func (r *guardedRelay) Close() error {
	if r.path != nil {
		r.path.closed(r)
	}
	return r.PacketConn.Close()
}

// WriteTo drops datagrams to the server's listeners as if sent.
func (r *guardedRelay) WriteTo(b []byte, dst net.Addr) (int, error) {
	if u, ok := dst.(*net.UDPAddr); ok {
		for _, a := range r.own() {
			ip, port := addrIPPort(a)
			if port == u.Port && (ip.Equal(u.IP) || ip.IsUnspecified()) {
				return len(b), nil
			}
		}
	}
	return r.PacketConn.WriteTo(b, dst)
}

func addrIPPort(a net.Addr) (net.IP, int) {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.IP, a.Port
	case *net.TCPAddr:
		return a.IP, a.Port
	}
	return nil, -1
}
