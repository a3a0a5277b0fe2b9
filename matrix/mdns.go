package matrix

import "slices"

// The mDNS slice of the matrix (draft-ietf-rtcweb-mdns-ice-candidates):
// both peers hide their host candidates behind .local names, as browsers
// do, with the STUN and TURN server. Not part of DefaultPlan (its 196
// cells stay as they are); run it with --ice mdns,mdns-lan,mdns-lan-strip.
const (
	// MDNS: each peer on its own LAN (behind its own NAT): neither can
	// resolve the other's name, so host candidates drop out.
	MDNS ICEConfig = "mdns"
	// MDNSLAN: both peers on one LAN, behind one NAT of the row's kind
	// (the grid's diagonal only): each resolves the other's name.
	MDNSLAN ICEConfig = "mdns-lan"
	// MDNSLANStrip: as MDNSLAN, but the signaling server strips .local
	// candidates, as FreeSWITCH, Kurento and Asterisk did.
	MDNSLANStrip ICEConfig = "mdns-lan-strip"
)

// MDNSConfigs lists the mDNS configurations, in grid order.
var MDNSConfigs = []ICEConfig{MDNS, MDNSLAN, MDNSLANStrip}

func (c ICEConfig) mdns() bool    { return slices.Contains(MDNSConfigs, c) }
func (c ICEConfig) sameLAN() bool { return c == MDNSLAN || c == MDNSLANStrip }

func (c ICEConfig) describeMDNS() string {
	switch c {
	case MDNS:
		return "mDNS names, each peer on its own LAN (STUN + TURN)"
	case MDNSLAN:
		return "mDNS names, both peers on one LAN behind one NAT (STUN + TURN)"
	case MDNSLANStrip:
		return "mDNS names on one LAN, signaling strips .local candidates (STUN + TURN)"
	}
	return string(c)
}

// scenarioMDNS is what a cell of an mDNS configuration adds to each
// participant, and to the scenario.
func (c ICEConfig) scenarioMDNS() (participant, scenario string) {
	if !c.mdns() {
		return "", ""
	}
	participant = "    mdns: true\n"
	if c.sameLAN() {
		participant += "    lan: home\n"
	}
	if c == MDNSLANStrip {
		scenario = "servers: {signaling: {mdns: strip}}\n"
	}
	return participant, scenario
}

// mdnsRules come first in the expectations table.
var mdnsRules = []rule{
	{"mdns-lan-resolved", []ICEConfig{MDNSLAN}, func(p pair) bool { return !p.either(Behaviour.blocked) },
		Host, "both peers are on one LAN: each resolves the other's .local name by multicast DNS (RFC 6762) and checks its private address directly (draft-ietf-rtcweb-mdns-ice-candidates section 3.2)"},
	{"mdns-public-hidden", []ICEConfig{MDNS, MDNSLANStrip}, func(p pair) bool { return p.both(Behaviour.public) },
		Srflx, "the host candidates are hidden (a .local name no host across the internet can resolve, or stripped by the signaling server), but a public host's server-reflexive candidate is its own address (RFC 8445 5.1.1.2), which the other side checks directly"},
}

// withTURN reports whether a configuration gives a TURN server.
func (c ICEConfig) withTURN() bool { return c == STUNTURN || c.mdns() }
