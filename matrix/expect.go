package matrix

import (
	"fmt"
	"slices"

	"github.com/rtclab/rtclab/netem"
)

// Path is how a cell's call got through, or that it did not.
type Path string

// Paths, from the most direct. The name is the kind of address the media
// flows to; see Classify for how a measured cell is named.
const (
	// Host: both ends use their own (public) addresses; no NAT in between.
	Host Path = "host"
	// Srflx: straight through the NAT(s), to server-reflexive addresses:
	// the mappings the NATs also gave the STUN server (RFC 8445 5.1.1.2).
	Srflx Path = "srflx"
	// Prflx: straight through the NAT(s), to an address at least one end
	// could only learn from the other's connectivity checks (RFC 8445
	// 7.3.1.3): no STUN server, or a NAT that maps per destination.
	Prflx Path = "prflx"
	// Relay: through a TURN relay (RFC 8656), reached over UDP.
	Relay Path = "relay"
	// RelayTCP: through a TURN relay that at least one end reaches over
	// TCP (RFC 8656 section 3.1; UDP is blocked on its side).
	RelayTCP Path = "relay-tcp"
	// Failed: not connected within the cell's time limit.
	Failed Path = "failed"
)

// Paths lists every path, from the most direct.
var Paths = []Path{Host, Srflx, Prflx, Relay, RelayTCP, Failed}

// Behaviour is what ICE needs to know about the NAT(s) and firewall in
// front of a host: RFC 4787 mapping (section 4.1) and filtering (section
// 5) as seen from the internet.
type Behaviour struct {
	// Public is true when the host has no NAT.
	Public bool
	// Mapping and Filtering are the NAT's, or the outermost-combined ones
	// when there are two (a home NAT behind a carrier-grade NAT maps
	// endpoint-independently only if both do, and filters as the stricter).
	Mapping, Filtering netem.Dependency
	// BlockUDP is true when a firewall drops all UDP.
	BlockUDP bool
}

// behaviours of the presets, as netem builds them (netem/nat.go; a test
// checks these against netem's own description of each preset).
var presetBehaviours = map[netem.NAT]Behaviour{
	netem.Open:               {Public: true},
	netem.FullCone:           {Mapping: netem.EndpointIndependent, Filtering: netem.EndpointIndependent},
	netem.RestrictedCone:     {Mapping: netem.EndpointIndependent, Filtering: netem.AddressDependent},
	netem.PortRestrictedCone: {Mapping: netem.EndpointIndependent, Filtering: netem.AddressAndPortDependent},
	netem.Symmetric:          {Mapping: netem.AddressAndPortDependent, Filtering: netem.AddressAndPortDependent},
	netem.DoubleNAT:          {Mapping: netem.EndpointIndependent, Filtering: netem.AddressAndPortDependent},
	netem.UDPBlocked:         {Mapping: netem.EndpointIndependent, Filtering: netem.AddressAndPortDependent, BlockUDP: true},
}

// strictness orders dependencies from the most permissive.
var strictness = map[netem.Dependency]int{
	netem.EndpointIndependent: 0, netem.AddressDependent: 1, netem.AddressAndPortDependent: 2,
}

// combine is the behaviour of home behind cgn, seen from outside.
func combine(home, cgn netem.NATConfig) Behaviour {
	stricter := func(a, b netem.Dependency) netem.Dependency {
		if strictness[a] >= strictness[b] {
			return a
		}
		return b
	}
	return Behaviour{Mapping: stricter(home.Mapping, cgn.Mapping), Filtering: stricter(home.Filtering, cgn.Filtering)}
}

// Predicates on one side's behaviour.
func (b Behaviour) blocked() bool { return b.BlockUDP }
func (b Behaviour) public() bool  { return b.Public && !b.BlockUDP }

// perDestination: a NAT that gives every destination its own port (RFC
// 4787 4.1 address- or address-and-port-dependent mapping), so the port
// a peer sees differs from the server-reflexive one.
func (b Behaviour) perDestination() bool {
	return !b.Public && b.Mapping != netem.EndpointIndependent
}

// endpointIndependent: public, or a NAT that keeps one mapping for every
// destination (RFC 4787 REQ-1), so its server-reflexive candidate is the
// address every peer sees.
func (b Behaviour) endpointIndependent() bool { return !b.perDestination() }

// portFiltering: the NAT admits only the exact address:port its host has
// sent to (RFC 4787 5, address-and-port-dependent filtering).
func (b Behaviour) portFiltering() bool {
	return !b.Public && b.Filtering == netem.AddressAndPortDependent
}

// Expectation is what RFC 4787 and RFC 8445 say must happen in a cell.
type Expectation struct {
	// Path is the expected path.
	Path Path
	// Rule names the rule of the table that decided it.
	Rule string
	// Why explains it in one line.
	Why string
}

// pair is the two sides of a cell; rules are symmetric in them.
type pair struct{ a, b Behaviour }

func (p pair) either(f func(Behaviour) bool) bool { return f(p.a) || f(p.b) }
func (p pair) both(f func(Behaviour) bool) bool   { return f(p.a) && f(p.b) }

// oneEach: one side satisfies f and the other g.
func (p pair) oneEach(f, g func(Behaviour) bool) bool {
	return (f(p.a) && g(p.b)) || (f(p.b) && g(p.a))
}

// rule is one row of the expectations table.
type rule struct {
	name string
	ice  []ICEConfig // the configurations it applies to; nil means all
	when func(pair) bool
	// path is the outcome, or noDirect.
	path Path
	why  string
}

// noDirect marks a rule whose outcome is "no direct path": Failed without
// a TURN server, Relay with one.
const noDirect Path = "no-direct"

// Configurations rules apply to.
var (
	allICE  []ICEConfig // nil: every configuration
	stunICE = []ICEConfig{STUNOnly, STUNTURN, MDNS, MDNSLANStrip}
)

// rules is the expectations table. The first rule that matches a cell
// decides it; every cell matches one (the last has no condition).
var rules = []rule{
	{"udp-blocked-no-turn", []ICEConfig{HostOnly, STUNOnly}, func(p pair) bool { return p.either(Behaviour.blocked) },
		Failed, "UDP is blocked on one side and without TURN only UDP candidates exist (rtclab's peers gather no ICE-TCP candidates, RFC 6544): no check gets through"},
	{"udp-blocked-turn-tcp", []ICEConfig{STUNTURN, RelayOnly, MDNS, MDNSLAN, MDNSLANStrip}, func(p pair) bool { return p.either(Behaviour.blocked) },
		RelayTCP, "UDP is blocked on one side, but TCP goes out through its NAT: it talks to the TURN server over TCP (turn:...?transport=tcp, RFC 8656 section 3.1) and its media is relayed"},
	{"relay-policy", []ICEConfig{RelayOnly}, func(pair) bool { return true },
		Relay, "iceTransportPolicy relay gathers only relayed candidates: both ends allocate on the TURN server over UDP and meet there (RFC 8656; W3C webrtc-pc RTCIceTransportPolicy)"},
	{"no-nat", allICE, func(p pair) bool { return p.both(Behaviour.public) },
		Host, "no NAT on either side: the host candidates are public addresses and reach each other (RFC 8445 5.1.1.1)"},
	{"host-only-one-public", []ICEConfig{HostOnly}, func(p pair) bool { return p.either(Behaviour.public) },
		Prflx, "without STUN the NATed side has only its private address, but its checks to the public host open a mapping that the public side learns as peer-reflexive (RFC 8445 7.3.1.3) and answers through (RFC 4787 5)"},
	{"host-only-both-nat", []ICEConfig{HostOnly}, func(pair) bool { return true },
		Failed, "without STUN or TURN each side knows only the other's private host address, which does not route across the internet, and nothing opens a mapping toward the other"},
	{"public-vs-per-destination", stunICE, func(p pair) bool { return p.oneEach(Behaviour.public, Behaviour.perDestination) },
		Prflx, "the symmetric NAT gives the checks to the public host a port of their own, not its server-reflexive one (RFC 4787 4.1), so the public side learns it as peer-reflexive (RFC 8445 7.3.1.3)"},
	{"public-vs-cone", stunICE, func(p pair) bool { return p.either(Behaviour.public) },
		Srflx, "the NAT maps endpoint-independently (RFC 4787 REQ-1): checks to the public host leave from its server-reflexive address, and the answers pass the filter those checks opened (RFC 4787 5)"},
	{"cone-vs-cone", stunICE, func(p pair) bool { return p.both(Behaviour.endpointIndependent) },
		Srflx, "both NATs map endpoint-independently: each side's checks to the other's server-reflexive address open its own filter for exactly that address (RFC 4787 5), so the checks cross (RFC 8445 7.2.5)"},
	{"per-destination-vs-address-filter", stunICE, func(p pair) bool {
		return p.oneEach(Behaviour.perDestination, func(b Behaviour) bool { return b.endpointIndependent() && !b.portFiltering() })
	},
		Prflx, "the symmetric side's checks arrive from a new port (RFC 4787 4.1), but the other NAT filters by address only (or not at all, RFC 4787 5), so they pass and that port is learned as peer-reflexive (RFC 8445 7.3.1.3)"},
	{"per-destination-vs-port-filter", stunICE, func(pair) bool { return true },
		noDirect, "one NAT maps every destination to a new port (RFC 4787 4.1) and the other admits only an address:port it has sent to, or maps per destination too (RFC 4787 5): no check can cross directly"},
}

// Expect returns what must happen between a (the offerer) and b (the
// answerer) with ICE configuration ice.
func Expect(a, b Behaviour, ice ICEConfig) Expectation {
	p := pair{a, b}
	for _, r := range append(slices.Clone(mdnsRules), rules...) {
		if r.ice != nil && !slices.Contains(r.ice, ice) {
			continue
		}
		if !r.when(p) {
			continue
		}
		e := Expectation{Path: r.path, Rule: r.name, Why: r.why}
		if r.path == noDirect {
			if ice.withTURN() {
				e.Path, e.Why = Relay, r.why+", so ICE falls back to the relayed candidate (RFC 8445 5.1.2.2 ranks it last)"
			} else {
				e.Path, e.Why = Failed, r.why+", and without TURN nothing else is left"
			}
		}
		return e
	}
	// Unreachable: the last rule matches every cell of every
	// configuration it lists, and the ones before cover the others.
	return Expectation{Path: Failed, Rule: "none", Why: fmt.Sprintf("no rule covers %s", ice)}
}
