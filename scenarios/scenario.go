package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/yamldecode"
)

// Scenario is one scenario file.
type Scenario struct {
	// Name identifies the scenario in reports (required).
	Name string `yaml:"name"`
	// Description is free text shown in the report.
	Description string `yaml:"description"`
	// Topology is "sfu" (everyone to the SFU) or "p2p" (two participants
	// straight to each other). Default "sfu".
	Topology string `yaml:"topology"`
	// Duration is how long media flows, e.g. "30s". Required.
	Duration Duration `yaml:"duration"`
	// Seed seeds the emulated network's random choices. Default 1.
	Seed int64 `yaml:"seed"`
	// ICE declares which ICE servers the participants get.
	ICE ICE `yaml:"ice"`
	// Servers configures the embedded servers' behaviour.
	Servers Servers `yaml:"servers"`
	// Participants are the simulated clients.
	Participants []Participant `yaml:"participants"`
	// Expect lists the checks that decide pass or fail.
	Expect []Expectation `yaml:"expect"`
	// Flows declares the traffic of the flows topology (RFC 8867 test
	// cases): media flows run GCC, cbr and tcp flows compete with them.
	Flows []Flow `yaml:"flows"`
	// Reference names the scenario a flows scenario's media flows are
	// compared with, flow by flow (RFC 8867 section 5.3's reference
	// case): a file relative to this one, or a built-in name.
	Reference string `yaml:"reference"`
	// Timeline lists faults injected into the call at scenario times:
	// server restarts, ICE restarts, link flaps (timeline.go).
	Timeline []Fault `yaml:"timeline"`
	// Backend is the network: "in-process" (default; virtual time) or
	// "kernel" (namespaces, real sockets, real time, root; backend.go).
	Backend string `yaml:"backend"`

	// File is where the scenario was loaded from.
	File string `yaml:"-"`

	// FlowInstances are the resolved flows (Count copies expanded), filled by
	// validation of a flows scenario.
	FlowInstances []FlowInstance `yaml:"-" json:"-"`
	// ReferenceScenario is Reference, loaded by validation.
	ReferenceScenario *Scenario `yaml:"-" json:"-"`
	// skipReference leaves Reference unloaded (parse).
	skipReference bool
}

// ICE declares the ICE servers of every participant.
type ICE struct {
	// STUN gives participants the embedded STUN server. Default true.
	STUN *bool `yaml:"stun"`
	// TURN gives participants the embedded TURN server (UDP) with REST
	// credentials. Default true.
	TURN *bool `yaml:"turn"`
	// RelayOnly sets iceTransportPolicy "relay". Default false.
	RelayOnly bool `yaml:"relay_only"`
	// TURNTCP also offers the TURN server over TCP (turn:...?transport=tcp),
	// the way out for clients whose UDP is blocked. Default true.
	TURNTCP *bool `yaml:"turn_tcp"`
}

// Servers configures the embedded servers.
type Servers struct {
	// Signaling configures the signaling server.
	Signaling SignalingServer `yaml:"signaling"`
	// TURN is "embedded" (default), "coturn" (kernel backend), or {url:
	// turn:IP:PORT, secret: S} for a TURN server of the user's (REST
	// credentials from the shared secret, RFC 8489 long-term credentials
	// as coturn's use-auth-secret computes them); backend.go.
	TURN TURNServer `yaml:"turn"`
	// SFU is how participants reach the SFU: "embedded" (the signaling
	// room, default), "whip" (the embedded SFU over WHIP/WHEP), or
	// {whip: URL, whep: URL} for a user's SFU (whip.go).
	SFU SFUServer `yaml:"sfu"`
}

// SignalingServer configures the signaling server.
type SignalingServer struct {
	// MDNS makes it treat .local ICE candidates as servers that expected
	// IP addresses did: "strip" drops them from descriptions and trickle,
	// "reject" refuses a message carrying one with an error. Default: relay
	// them untouched.
	MDNS string `yaml:"mdns"`
}

// Signaling server modes for .local candidates (SignalingServer.MDNS).
const (
	MDNSStrip  = "strip"
	MDNSReject = "reject"
)

// Participant is one simulated client.
type Participant struct {
	// Name is unique, lower-case letters, digits and '-'.
	Name string `yaml:"name"`
	// NAT is what stands in front of it: a preset name (see netem.NATs,
	// default "open") or a mapping with mapping/filtering/lifetime/cgn.
	NAT NATSpec `yaml:"nat"`
	// Firewall, when set, filters its UDP traffic.
	Firewall *FirewallSpec `yaml:"firewall"`
	// Publish lists what it sends: "audio" (Opus), "video" (VP8 unless
	// Video says otherwise).
	Publish []string `yaml:"publish"`
	// Video is the codec of the video it publishes: vp8 (default), vp9,
	// h264 or av1.
	Video string `yaml:"video"`
	// Simulcast sends the video as three simulcast layers (RIDs q, h, f;
	// 320x180 at 120 kbps, 480x270 at 250 kbps, 640x360 at 500 kbps).
	// VP8 only.
	Simulcast bool `yaml:"simulcast"`
	// Codecs, when set, are the only codecs it offers and accepts, in
	// order of preference (opus, vp8, vp9, h264, av1). Leaving out every
	// codec of a kind accepts all of that kind.
	Codecs []string `yaml:"codecs"`
	// LAN puts it on a named local network with every participant naming
	// the same LAN: behind one NAT (all must declare the same nat), or,
	// with no NAT, side by side on the internet. Multicast, and so mDNS,
	// reaches only its own LAN. Default: a LAN of its own.
	LAN string `yaml:"lan"`
	// MDNS hides its host candidates behind .local names
	// (draft-ietf-rtcweb-mdns-ice-candidates), as browsers do by default;
	// a peer on the same LAN resolves them, others cannot.
	MDNS bool `yaml:"mdns"`
	// Client is the program that takes part: "pion" (rtclab's simulated
	// client, the default) or "chromium" (client.go).
	Client string `yaml:"client"`
	// Uplink and Downlink impair its access link.
	Uplink   Link `yaml:"uplink"`
	Downlink Link `yaml:"downlink"`
	// E2EE, when set, encrypts its media end to end with SFrame (e2ee.go).
	E2EE *E2EE `yaml:"e2ee"`

	// Resolved and Schedule are the resolved network, filled by
	// validation: the access links at the start and their timed changes.
	Resolved netem.HostConfig `yaml:"-" json:"-"`
	Schedule []Scheduled      `yaml:"-" json:"-"`
}

// Expectation is one check: a metric of each matching participant or
// stream must lie within [min, max].
type Expectation struct {
	// Metric names what is checked; see analysis.Metrics.
	Metric string `yaml:"metric"`
	// Participant narrows participant metrics to one participant.
	Participant string `yaml:"participant"`
	// From, To and Kind narrow stream metrics.
	From string `yaml:"from"`
	To   string `yaml:"to"`
	Kind string `yaml:"kind"`
	// Min and Max bound the value; either may be left out.
	Min *Number `yaml:"min"`
	Max *Number `yaml:"max"`
	// Flow narrows the metrics of the flows topology to one flow (for
	// link metrics: the bottleneck of that flow).
	Flow string `yaml:"flow"`
	// At, for the layer metric, is the scenario time to read the layer
	// at, e.g. "15s"; absent means the end of the run.
	At Duration `yaml:"at"`
	// Criterion says whose bound this is: "rfc" (a document gives it)
	// or "guideline" (rtclab chose it); Source cites the section or
	// gives the reason. Both are shown beside the check's verdict.
	Criterion string `yaml:"criterion"`
	Source    string `yaml:"source"`
	// KnownFailure declares the check as expected to fail.
	KnownFailure *KnownFailure `yaml:"known_failure"`

	line int
}

// Duration is a time.Duration written as "30s", "40ms" or "1m30s".
type Duration struct {
	time.Duration
	line int
}

// UnmarshalYAML parses a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	d.line = n.Line
	if n.Kind != yaml.ScalarNode {
		return posError(n, "want a duration such as 30s or 40ms")
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		if _, numErr := strconv.ParseFloat(n.Value, 64); numErr == nil {
			return posError(n, fmt.Sprintf("%q has no unit: write e.g. %sms or %ss", n.Value, n.Value, n.Value))
		}
		return posError(n, fmt.Sprintf("%q is not a duration (e.g. 30s, 40ms, 1m30s)", n.Value))
	}
	d.Duration = v
	return nil
}

// Fraction is a number in 0..1 written as "3%" or 0.03.
type Fraction struct {
	Value float64
	line  int
}

// UnmarshalYAML parses "3%" or a plain number.
func (f *Fraction) UnmarshalYAML(n *yaml.Node) error {
	f.line = n.Line
	v, err := parsePercent(n)
	if err != nil {
		return err
	}
	f.Value = v
	return nil
}

// Number is a float that also accepts "3%".
type Number struct {
	Value float64
}

// UnmarshalYAML parses "3%" or a plain number.
func (x *Number) UnmarshalYAML(n *yaml.Node) error {
	v, err := parsePercent(n)
	x.Value = v
	return err
}

func parsePercent(n *yaml.Node) (float64, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, posError(n, "want a number such as 0.03 or 3%")
	}
	s := strings.TrimSpace(n.Value)
	pct := strings.HasSuffix(s, "%")
	if pct {
		s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, posError(n, fmt.Sprintf("%q is not a number (e.g. 0.03 or 3%%)", n.Value))
	}
	if pct {
		// The decimal read two places over, rounded once: "0.7%" is the
		// double nearest 0.007, as 7 lost of 1000 is. 0.7 * 0.01 is one
		// ulp under it, and a check `max: 0.7%` failed a measured 0.007;
		// 0.9 * 0.01 is one over, and `min: 0.9%` failed 0.009.
		if w, err := strconv.ParseFloat(s+"e-2", 64); err == nil && !strings.ContainsAny(s, "eExXpP") {
			return w, nil
		}
		return v / 100, nil
	}
	return v, nil
}

// posError is a parse error at a line, in the form yaml.v3 collects (so
// decoding goes on and every problem is reported); Parse adds file and field.
func posError(n *yaml.Node, msg string) error {
	return &yamldecode.Error{Line: n.Line, Msg: msg}
}

// UseSTUN reports whether participants get the STUN server.
func (s *Scenario) UseSTUN() bool { return s.ICE.STUN == nil || *s.ICE.STUN }

// UseTURNTCP reports whether participants also get TURN over TCP.
func (s *Scenario) UseTURNTCP() bool { return s.UseTURN() && (s.ICE.TURNTCP == nil || *s.ICE.TURNTCP) }

// UseTURN reports whether participants get the TURN server.
func (s *Scenario) UseTURN() bool { return s.ICE.TURN == nil || *s.ICE.TURN }

// Names of the embedded servers' hosts on the emulated internet; a
// firewall's allow_udp_to names them.
const (
	TURNHost = "turn"
	SFUHost  = "sfu"
)
