package netem

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pion/transport/v3/vnet"
)

// Dependency is an RFC 4787 mapping or filtering behaviour.
type Dependency string

// Dependencies (RFC 4787 section 4.1 for mapping, section 5 for filtering).
const (
	EndpointIndependent     Dependency = "endpoint-independent"
	AddressDependent        Dependency = "address-dependent"
	AddressAndPortDependent Dependency = "address-and-port-dependent"
)

// Dependencies lists the allowed Dependency values.
var Dependencies = []Dependency{EndpointIndependent, AddressDependent, AddressAndPortDependent}

func (d Dependency) vnet() (vnet.EndpointDependencyType, bool) {
	switch d {
	case EndpointIndependent:
		return vnet.EndpointIndependent, true
	case AddressDependent:
		return vnet.EndpointAddrDependent, true
	case AddressAndPortDependent:
		return vnet.EndpointAddrPortDependent, true
	}
	return 0, false
}

// DefaultMappingLifetime is how long an idle NAT mapping lives when the
// scenario does not say: two minutes, the least RFC 4787 REQ-5 allows.
// Outbound traffic refreshes it (REQ-6); inbound does not.
const DefaultMappingLifetime = 2 * time.Minute

// NATConfig is one NAT's behaviour.
type NATConfig struct {
	// Mapping decides when an inside address:port gets a new outside port.
	Mapping Dependency
	// Filtering decides which outside senders may reach a mapping.
	Filtering Dependency
	// Lifetime is how long a mapping lives without outbound traffic; 0
	// means DefaultMappingLifetime.
	Lifetime time.Duration
	// Hairpinning and PortPreservation are refused by New: the emulator
	// (pion vnet) always hairpins (a packet from inside for the NAT's own
	// outside address is routed back in: TestLANHairpin) and never
	// preserves ports, and neither can be chosen.
	Hairpinning      bool
	PortPreservation bool
}

func (c NATConfig) validate() error {
	if _, ok := c.Mapping.vnet(); !ok {
		return fmt.Errorf("%w: mapping %q (allowed: %s)", ErrConfig, c.Mapping, dependencyNames())
	}
	if _, ok := c.Filtering.vnet(); !ok {
		return fmt.Errorf("%w: filtering %q (allowed: %s)", ErrConfig, c.Filtering, dependencyNames())
	}
	if c.Lifetime < 0 {
		return fmt.Errorf("%w: mapping lifetime %v is negative", ErrConfig, c.Lifetime)
	}
	if c.Hairpinning {
		return fmt.Errorf("%w: hairpinning is not configurable (pion vnet always hairpins)", ErrUnsupported)
	}
	if c.PortPreservation {
		return fmt.Errorf("%w: port preservation is not emulated (pion vnet does not implement it)", ErrUnsupported)
	}
	return nil
}

func (c NATConfig) vnetType() *vnet.NATType {
	m, _ := c.Mapping.vnet()
	f, _ := c.Filtering.vnet()
	life := c.Lifetime
	if life == 0 {
		life = DefaultMappingLifetime
	}
	return &vnet.NATType{Mode: vnet.NATModeNormal, MappingBehavior: m, FilteringBehavior: f, MappingLifeTime: life}
}

func dependencyNames() string {
	names := make([]string, len(Dependencies))
	for i, d := range Dependencies {
		names[i] = string(d)
	}
	return strings.Join(names, ", ")
}

// NAT names a preset: the NAT (and firewall) in front of a host.
type NAT string

// NAT presets.
const (
	// Open puts the host straight on the internet with a public address.
	Open NAT = "open"
	// FullCone maps endpoint-independently and filters nothing.
	FullCone NAT = "full-cone"
	// RestrictedCone maps endpoint-independently and lets in only hosts
	// (any port) the inside host has sent to.
	RestrictedCone NAT = "restricted-cone"
	// PortRestrictedCone maps endpoint-independently and lets in only the
	// exact address:port the inside host has sent to.
	PortRestrictedCone NAT = "port-restricted-cone"
	// Symmetric maps every destination address:port to its own external
	// port and filters by address and port.
	Symmetric NAT = "symmetric"
	// DoubleNAT is a port-restricted cone home NAT behind a carrier-grade
	// NAT that maps endpoint-independently (RFC 6888 REQ-1) and filters by
	// address and port, on RFC 6598 shared addresses (100.64.0.0/10).
	DoubleNAT NAT = "double-nat"
	// UDPBlocked is a port-restricted cone NAT behind a firewall that drops
	// every UDP packet (rtclab's emulated network carries only UDP).
	UDPBlocked NAT = "udp-blocked"
)

// NATs lists every preset, in documentation order.
var NATs = []NAT{Open, FullCone, RestrictedCone, PortRestrictedCone, Symmetric, DoubleNAT, UDPBlocked}

// NATNames returns the presets as one string for error messages.
func NATNames() string {
	names := make([]string, len(NATs))
	for i, n := range NATs {
		names[i] = string(n)
	}
	return strings.Join(names, ", ")
}

// Valid reports whether n is a known preset.
func (n NAT) Valid() bool { return slices.Contains(NATs, n) }

// config returns the home NAT, the carrier-grade NAT and the firewall of a
// preset. A nil NATConfig means none.
func (n NAT) config() (home, cgn *NATConfig, fw Firewall, err error) {
	nat := func(m, f Dependency) *NATConfig { return &NATConfig{Mapping: m, Filtering: f} }
	switch n {
	case Open, "":
		return nil, nil, fw, nil
	case FullCone:
		return nat(EndpointIndependent, EndpointIndependent), nil, fw, nil
	case RestrictedCone:
		return nat(EndpointIndependent, AddressDependent), nil, fw, nil
	case PortRestrictedCone:
		return nat(EndpointIndependent, AddressAndPortDependent), nil, fw, nil
	case Symmetric:
		return nat(AddressAndPortDependent, AddressAndPortDependent), nil, fw, nil
	case DoubleNAT:
		return nat(EndpointIndependent, AddressAndPortDependent), nat(EndpointIndependent, AddressAndPortDependent), fw, nil
	case UDPBlocked:
		return nat(EndpointIndependent, AddressAndPortDependent), nil, Firewall{BlockUDP: true}, nil
	}
	return nil, nil, fw, fmt.Errorf("%w: %q (allowed: %s)", ErrUnknownNAT, string(n), NATNames())
}

// Firewall filters a host's UDP traffic at its access link.
type Firewall struct {
	// BlockUDP drops every UDP packet, in and out, except to and from the
	// servers named in AllowUDPTo.
	BlockUDP bool
	// AllowUDPTo names servers (Config.Servers) still reachable over UDP.
	AllowUDPTo []string
}
