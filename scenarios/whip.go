package scenarios

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/yamldecode"
)

// SFU kinds (servers.sfu).
const (
	// SFUEmbedded is rtclab's SFU, reached through the signaling room.
	SFUEmbedded = "embedded"
	// SFUWHIP is rtclab's SFU reached over WHIP (RFC 9725) and WHEP:
	// the same media path, HTTP instead of the signaling room.
	SFUWHIP = "whip"
	// SFUExternal is a user's SFU at {whip: URL, whep: URL}.
	SFUExternal = "external"
)

// SFUServer is servers.sfu. The choice is the server's, not a
// participant's: with WHIP and WHEP an SFU's endpoints are where one
// publishes and watches, every participant goes through them, and whether
// one uses WHIP or WHEP follows from what it does (publish: WHIP, only
// watch: WHEP).
type SFUServer struct {
	// Kind is SFUEmbedded, SFUWHIP or SFUExternal.
	Kind string
	// WHIP and WHEP are the endpoints of SFUExternal: a participant
	// POSTs to the URL followed by its name.
	WHIP, WHEP string
	line       int
}

// UnmarshalYAML reads a kind name or a {whip, whep} mapping.
func (f *SFUServer) UnmarshalYAML(n *yaml.Node) error {
	f.line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		f.Kind = n.Value
		return nil
	case yaml.MappingNode:
		var m struct {
			WHIP string `yaml:"whip"`
			WHEP string `yaml:"whep"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		f.Kind, f.WHIP, f.WHEP = SFUExternal, m.WHIP, m.WHEP
		return nil
	}
	return posError(n, "want embedded, whip or {whip: URL, whep: URL}")
}

// SFUKind is how the scenario's participants reach the SFU.
func (s *Scenario) SFUKind() string {
	if s.Servers.SFU.Kind == "" {
		return SFUEmbedded
	}
	return s.Servers.SFU.Kind
}

// OverHTTP reports whether participants reach the SFU over WHIP/WHEP.
func (s *Scenario) OverHTTP() bool { return s.SFUKind() != SFUEmbedded }

// validateSFU checks servers.sfu. Over WHIP a participant publishes (it
// receives nothing: WHIP is ingest only) and over WHEP it watches (slots
// the SFU fills, stack/sfu/whep.go): so a
// participant may not do both, and at least one must publish.
func (s *Scenario) validateSFU(bad func(msg string, path ...any)) {
	f := s.Servers.SFU
	switch f.Kind {
	case "", SFUEmbedded:
		return
	case SFUWHIP, SFUExternal:
	default:
		bad(fmt.Sprintf("unknown SFU %q (allowed: embedded, whip, or {whip: URL, whep: URL})%s", f.Kind,
			yamldecode.DidYouMean(f.Kind, []string{SFUEmbedded, SFUWHIP})), "servers", "sfu")
		return
	}
	if s.Topology != "sfu" {
		bad(fmt.Sprintf("an SFU over WHIP/WHEP needs topology: sfu, not %q", s.Topology), "servers", "sfu")
	}
	if f.Kind == SFUExternal {
		if !s.Kernel() {
			bad("a user's SFU needs backend: kernel (the in-process network has no real sockets)", "servers", "sfu")
		}
		for _, u := range []struct{ v, field string }{{f.WHIP, "whip"}, {f.WHEP, "whep"}} {
			if err := checkHTTPURL(u.v); err != nil {
				bad(err.Error(), "servers", "sfu", u.field)
			}
		}
	}
	publishers := 0
	for _, p := range s.Participants {
		if len(p.Publish) > 0 {
			publishers++
		}
	}
	if publishers == 0 {
		bad("over WHIP/WHEP someone must publish (a participant with publish: sends over WHIP, one without watches over WHEP)", "servers", "sfu")
	}
	for i, f := range s.Timeline {
		if f.Restart != "" {
			bad(fmt.Sprintf("restart: %s is not available over WHIP/WHEP (a session is not renegotiated; allowed: ice_restart, rebind, flap: ICE restarts go over HTTP PATCH)", f.Restart), "timeline", i, "restart")
		}
	}
}

// checkHTTPURL accepts http://IP:PORT/PATH on loopback or the run's own
// networks (as an external TURN server's address).
func checkHTTPURL(u string) error {
	if u == "" {
		return fmt.Errorf("is required: the endpoint's URL, e.g. http://127.0.0.1:8889/whip/")
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "http" && pu.Scheme != "https" || pu.Host == "" {
		return fmt.Errorf("%q: want http://IP:PORT/PATH", u)
	}
	ip := net.ParseIP(pu.Hostname()).To4()
	if ip == nil {
		return fmt.Errorf("%q: %q is not an IPv4 address (names are not resolved)", u, pu.Hostname())
	}
	if !slices.ContainsFunc(externalTURNNets, func(c string) bool { _, n, _ := net.ParseCIDR(c); return n.Contains(ip) }) {
		return fmt.Errorf("%q: a scenario may only target loopback or the run's own namespaces (%s)", u, strings.Join(externalTURNNets, ", "))
	}
	return nil
}
