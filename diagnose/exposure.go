package diagnose

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Kinds of client an Exposure describes.
const (
	ClientHostCandidates = "host-candidates"
	ClientMDNS           = "mdns"
	ClientRelayOnly      = "relay-only"
)

// exposure is what the other party learns from each kind of client, from
// the local addresses ICE gathers on, the public address the STUN server
// saw, and the relay addresses the TURN servers gave:
//   - host candidates carry every local address (RFC 8445 5.1.1.1), and a
//     server-reflexive candidate the mapped one (5.1.1.2), which the
//     peer also sees as the source of the media;
//   - with mDNS each local address becomes a .local name of its own
//     (draft-ietf-rtcweb-mdns-ice-candidates section 3.1), and the
//     mapped address stays;
//   - relay-only leaves only the relay's address (RFC 8656).
func exposure(l LocalReport, relays []string) []Exposure {
	host := Exposure{Client: ClientHostCandidates, Addresses: []string{}}
	mdns := Exposure{Client: ClientMDNS, Addresses: []string{}}
	for i, a := range l.Addresses {
		host.Addresses = append(host.Addresses, a.IP+" ("+a.Scope+")")
		mdns.Addresses = append(mdns.Addresses, fmt.Sprintf("name%d.local (for %s)", i+1, a.IP))
	}
	if l.Mapped != "" {
		ip := hostOnly(l.Mapped)
		scope := "public"
		if a, err := netip.ParseAddr(ip); err == nil {
			scope = Scope(a.Unmap())
		}
		m := ip + " (" + scope + ", seen by the STUN server)"
		host.Addresses = append(host.Addresses, m)
		mdns.Addresses = append(mdns.Addresses, m)
	}
	relay := Exposure{Client: ClientRelayOnly, Addresses: []string{}}
	for _, r := range relays {
		if a := hostOnly(r) + " (the TURN relay's)"; !slices.Contains(relay.Addresses, a) {
			relay.Addresses = append(relay.Addresses, a)
		}
	}
	if len(relays) == 0 {
		relay.Addresses = append(relay.Addresses, "the TURN relay's address only (no allocation measured)")
	}
	return []Exposure{host, mdns, relay}
}

// hostOnly drops the port of an address:port (a port says nothing of
// the machine and changes per call).
func hostOnly(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i > 0 && !strings.HasSuffix(addr, "]") {
		return strings.Trim(addr[:i], "[]")
	}
	return addr
}

// Words names the kind of client in words, for the text and HTML reports.
func (e Exposure) Words() string {
	names := map[string]string{
		ClientHostCandidates: "an app that sends host candidates (native apps)",
		ClientMDNS:           "with mDNS .local names (browsers)",
		ClientRelayOnly:      "relay-only",
	}
	return names[e.Client]
}
