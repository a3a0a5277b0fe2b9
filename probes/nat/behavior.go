package nat

// Behavior is a mapping or filtering behaviour as RFC 5780 §4.3/§4.4 name
// it. It is a string enum so that JSON and YAML carry the words.
type Behavior string

// The behaviours of RFC 5780 §4, and Inconclusive when the tests could not
// tell (the reason is in Result.Reason).
const (
	EndpointIndependent     Behavior = "endpoint-independent"
	AddressDependent        Behavior = "address-dependent"
	AddressAndPortDependent Behavior = "address-and-port-dependent"
	Inconclusive            Behavior = "inconclusive"
)

// Type is the common (RFC 3489 style) name of a NAT.
type Type string

// Common names. OpenInternet means no NAT and no filtering; Firewall means
// no NAT but inbound packets from addresses not contacted are dropped.
const (
	OpenInternet       Type = "open-internet"
	Firewall           Type = "firewall"
	FullCone           Type = "full-cone"
	RestrictedCone     Type = "restricted-cone"
	PortRestrictedCone Type = "port-restricted-cone"
	Symmetric          Type = "symmetric"
	Unknown            Type = "unknown"
)

// CommonName names the NAT from its RFC 5780 behaviours. natted says
// whether the mapped address differs from the local one.
//
// The correspondence is the usual one (RFC 4787 §3 and §5 discuss it):
// full cone = EIM + EIF, restricted cone = EIM + ADF, port-restricted cone =
// EIM + APDF, symmetric = any mapping that is not endpoint-independent.
func CommonName(natted bool, mapping, filtering Behavior) Type {
	if !natted {
		switch filtering {
		case EndpointIndependent:
			return OpenInternet
		case AddressDependent, AddressAndPortDependent:
			return Firewall
		}
		return Unknown
	}
	switch mapping {
	case AddressDependent, AddressAndPortDependent:
		return Symmetric
	case EndpointIndependent:
		switch filtering {
		case EndpointIndependent:
			return FullCone
		case AddressDependent:
			return RestrictedCone
		case AddressAndPortDependent:
			return PortRestrictedCone
		}
	}
	return Unknown
}

// Words is a short phrase for a person: "port-restricted cone NAT".
func (t Type) Words() string {
	switch t {
	case OpenInternet:
		return "no NAT (open internet)"
	case Firewall:
		return "no NAT, but a firewall filters inbound UDP"
	case FullCone:
		return "full cone NAT"
	case RestrictedCone:
		return "restricted cone NAT"
	case PortRestrictedCone:
		return "port-restricted cone NAT"
	case Symmetric:
		return "symmetric NAT"
	}
	return "unknown NAT type"
}
