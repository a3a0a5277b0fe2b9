package scenarios

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/yamldecode"
)

// Network backends a scenario can run on (scenario field backend).
const (
	// BackendInProcess is netem on pion's vnet: in memory, virtual time,
	// no root (the default).
	BackendInProcess = "in-process"
	// BackendKernel is netem/kernel: Linux network namespaces, nftables
	// NAT, TUN access links through netem's link code, real sockets, real
	// time; needs root.
	BackendKernel = "kernel"
)

// Backends lists the allowed backend values.
var Backends = []string{BackendInProcess, BackendKernel}

// TURN server kinds (servers.turn).
const (
	TURNEmbedded = "embedded" // pion/turn inside rtclab (default)
	TURNCoturn   = "coturn"   // coturn started by rtclab in the TURN host's namespace (kernel backend)
	TURNExternal = "external" // {url: turn:IP:PORT, secret: ...}: a TURN server the user runs
)

// TURNServer is servers.turn.
type TURNServer struct {
	// Kind is TURNEmbedded, TURNCoturn or TURNExternal.
	Kind string
	// URL and Secret are set for TURNExternal.
	URL, Secret string
}

// UnmarshalYAML reads a kind name or a {url, secret} mapping.
func (t *TURNServer) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		t.Kind = n.Value
		return nil
	case yaml.MappingNode:
		var m struct {
			URL    string `yaml:"url"`
			Secret string `yaml:"secret"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		t.Kind, t.URL, t.Secret = TURNExternal, m.URL, m.Secret
		return nil
	}
	return posError(n, "want embedded, coturn or {url: turn:IP:PORT, secret: ...}")
}

// TURNKind is the TURN server the scenario uses.
func (s *Scenario) TURNKind() string {
	if s.Servers.TURN.Kind == "" {
		return TURNEmbedded
	}
	return s.Servers.TURN.Kind
}

// Kernel reports whether the scenario runs on the kernel backend.
func (s *Scenario) Kernel() bool { return s.Backend == BackendKernel }

// The run's own networks (netem's address plan): the servers' and the
// public one. A user's server (WHIP/WHEP) may be there.
var externalTURNNets = []string{"198.51.100.0/24", "203.0.113.0/24"}

// Addresses an external TURN server may have: loopback (this machine's:
// rtclab forwards to it from the TURN host's address, as no namespace of
// the run reaches it otherwise; netem/kernel's Forwarder) and the run's
// own networks; rtclab sends to nothing else.
var turnURLNets = append([]string{"127.0.0.0/8"}, externalTURNNets...)

// validateBackend checks backend and servers.
func (s *Scenario) validateBackend(bad func(msg string, path ...any)) {
	switch s.Backend {
	case "":
		s.Backend = BackendInProcess
	case BackendInProcess, BackendKernel:
	default:
		bad(fmt.Sprintf("unknown backend %q (allowed: %s)%s", s.Backend, strings.Join(Backends, ", "),
			yamldecode.DidYouMean(s.Backend, Backends)), "backend")
	}
	if s.Kernel() {
		lans := map[string]int{}
		for _, p := range s.Participants {
			if p.LAN != "" {
				lans[p.LAN]++
			}
		}
		for i, f := range s.Timeline {
			if f.Rebind == "" {
				continue
			}
			for _, p := range s.Participants {
				if p.Name != f.Rebind {
					continue
				}
				if home, _, _, err := p.Resolved.Resolve(); err == nil && home == nil {
					bad(fmt.Sprintf("%s has no NAT: on the kernel backend a rebind changes the mappings of the participant's NAT (give %s a nat:)", p.Name, p.Name), "timeline", i, "rebind")
				} else if lans[p.LAN] > 1 {
					bad(fmt.Sprintf("%s shares LAN %q's NAT: on the kernel backend a rebind changes the NAT's mappings, which would rebind every participant of the LAN", p.Name, p.LAN), "timeline", i, "rebind")
				}
			}
		}
	}
	t := s.Servers.TURN
	switch t.Kind {
	case "", TURNEmbedded:
	case TURNCoturn, TURNExternal:
		if !s.Kernel() {
			bad(fmt.Sprintf("%s TURN needs backend: kernel (the in-process network has no real sockets)", t.Kind), "servers", "turn")
		}
		if t.Kind == TURNCoturn {
			for i, f := range s.Timeline {
				if f.Restart == RestartTURN {
					bad("restart: turn restarts the embedded TURN server only", "timeline", i, "restart")
				}
			}
		}
		if t.Kind == TURNExternal {
			if err := checkTURNURL(t.URL); err != nil {
				bad(err.Error(), "servers", "turn", "url")
			}
			if t.Secret == "" {
				bad("is required: the TURN server's shared secret (coturn's static-auth-secret)", "servers", "turn", "secret")
			}
		}
	default:
		bad(fmt.Sprintf("unknown TURN server %q (allowed: embedded, coturn, or {url: turn:IP:PORT, secret: ...})%s", t.Kind,
			yamldecode.DidYouMean(t.Kind, []string{TURNEmbedded, TURNCoturn})), "servers", "turn")
	}
}

// checkTURNURL accepts turn:IP:PORT (RFC 7065 section 3.1, an IPv4
// address) on loopback or the run's own networks.
func checkTURNURL(u string) error {
	rest, ok := strings.CutPrefix(u, "turn:")
	if !ok {
		return fmt.Errorf("%q: want turn:IP:PORT, e.g. turn:198.51.100.10:3478", u)
	}
	rest, _, _ = strings.Cut(rest, "?")
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return fmt.Errorf("%q: want turn:IP:PORT: %w", u, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q: port %q is not 1..65535", u, port)
	}
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return fmt.Errorf("%q: %q is not an IPv4 address (names are not resolved)", u, host)
	}
	for _, c := range turnURLNets {
		if _, n, _ := net.ParseCIDR(c); n.Contains(ip) {
			return nil
		}
	}
	return fmt.Errorf("%q: a scenario may only target this machine's loopback or the run's own namespaces (%s), never another network", u, strings.Join(turnURLNets, ", "))
}
