package netem

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pion/transport/v3/vnet"
)

// NAT names the behaviour of the NAT in front of a host, as RFC 4787
// mapping and filtering behaviours (section 4.1 and section 5).
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
)

// NATs lists every NAT value a scenario may use, in documentation order.
var NATs = []NAT{Open, FullCone, RestrictedCone, PortRestrictedCone, Symmetric}

// NATNames returns the allowed NAT values as one string for error messages.
func NATNames() string {
	names := make([]string, len(NATs))
	for i, n := range NATs {
		names[i] = string(n)
	}
	return strings.Join(names, ", ")
}

// Valid reports whether n is a known NAT value.
func (n NAT) Valid() bool { return slices.Contains(NATs, n) }

// vnetType returns the vnet NAT behaviour of n; nil for Open.
func (n NAT) vnetType() (*vnet.NATType, error) {
	var m, f vnet.EndpointDependencyType
	switch n {
	case Open:
		return nil, nil
	case FullCone:
		m, f = vnet.EndpointIndependent, vnet.EndpointIndependent
	case RestrictedCone:
		m, f = vnet.EndpointIndependent, vnet.EndpointAddrDependent
	case PortRestrictedCone:
		m, f = vnet.EndpointIndependent, vnet.EndpointAddrPortDependent
	case Symmetric:
		m, f = vnet.EndpointAddrPortDependent, vnet.EndpointAddrPortDependent
	default:
		return nil, fmt.Errorf("%w: %q (allowed: %s)", ErrUnknownNAT, string(n), NATNames())
	}
	return &vnet.NATType{Mode: vnet.NATModeNormal, MappingBehavior: m, FilteringBehavior: f}, nil
}
