package matrix

import (
	"fmt"
	"github.com/rtclab/rtclab/phase"
	"slices"
	"strings"
	"time"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/scenarios"
)

// ICEConfig names which ICE servers and policy both peers of a cell use.
type ICEConfig string

// ICE configurations of the grid.
const (
	// HostOnly gives no ICE servers: host candidates only.
	HostOnly ICEConfig = "host-only"
	// STUNOnly gives the embedded STUN server: host and server-reflexive
	// candidates.
	STUNOnly ICEConfig = "stun"
	// STUNTURN gives the embedded STUN and TURN server (TURN over UDP and
	// over TCP): host, server-reflexive and relayed candidates.
	STUNTURN ICEConfig = "stun-turn"
	// RelayOnly gives the TURN server with iceTransportPolicy "relay":
	// relayed candidates only.
	RelayOnly ICEConfig = "relay-only"
)

// ICEConfigs lists every ICE configuration, in grid order.
var ICEConfigs = []ICEConfig{HostOnly, STUNOnly, STUNTURN, RelayOnly}

// Valid reports whether c is a known configuration.
func (c ICEConfig) Valid() bool { return slices.Contains(ICEConfigs, c) }

// Describe says what c gives the peers.
func (c ICEConfig) Describe() string {
	switch c {
	case HostOnly:
		return "host only (no ICE servers)"
	case STUNOnly:
		return "STUN only"
	case STUNTURN:
		return "STUN + TURN (TURN over UDP and TCP)"
	case RelayOnly:
		return "TURN only (iceTransportPolicy relay)"
	}
	return string(c)
}

// scenarioICE is the scenario's ice: block for c.
func (c ICEConfig) scenarioICE() string {
	switch c {
	case HostOnly:
		return "{stun: false, turn: false}"
	case STUNOnly:
		return "{stun: true, turn: false}"
	case STUNTURN:
		return "{stun: true, turn: true}"
	}
	return "{stun: false, turn: true, relay_only: true}"
}

func iceNames() string {
	names := make([]string, len(ICEConfigs))
	for i, c := range ICEConfigs {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// NAT is one row (and column) of the grid: a netem preset, or a custom
// behaviour declared in a matrix file.
type NAT struct {
	// Name labels the row; the preset's name for a preset.
	Name string
	// Preset is the netem preset; empty for a custom NAT.
	Preset netem.NAT
	// Home and CGN spell a custom NAT out; CGN may be nil.
	Home, CGN *netem.NATConfig
}

// PresetNAT returns the grid row of a netem preset.
func PresetNAT(n netem.NAT) NAT { return NAT{Name: string(n), Preset: n} }

// Behaviour returns what the expectations need to know about n.
func (n NAT) Behaviour() Behaviour {
	if n.Preset != "" {
		return presetBehaviours[n.Preset]
	}
	if n.Home == nil {
		return Behaviour{Public: true}
	}
	if n.CGN == nil {
		return Behaviour{Mapping: n.Home.Mapping, Filtering: n.Home.Filtering}
	}
	return combine(*n.Home, *n.CGN)
}

// scenarioNAT is the participant's nat: value for n.
func (n NAT) scenarioNAT() string {
	if n.Preset != "" || n.Home == nil {
		return string(n.Preset)
	}
	one := func(c *netem.NATConfig) string {
		return fmt.Sprintf("mapping: %s, filtering: %s", c.Mapping, c.Filtering)
	}
	if n.CGN == nil {
		return "{" + one(n.Home) + "}"
	}
	return "{" + one(n.Home) + ", cgn: {" + one(n.CGN) + "}}"
}

// Plan is the grid to run, as data: every NAT against every NAT, for each
// ICE configuration.
type Plan struct {
	// NATs are the rows and columns, in order.
	NATs []NAT
	// ICE lists the configurations, one panel each.
	ICE []ICEConfig
	// Seed seeds every cell's emulated network.
	Seed int64
	// Duration is each cell's scenario time, and so its time limit to
	// connect.
	Duration time.Duration
	// Backend is the cells' network backend (scenario field backend):
	// "" or scenarios.BackendInProcess in virtual time, or
	// scenarios.BackendKernel in namespaces, in real time.
	Backend string
}

// DefaultDuration is a cell's scenario time: a relayed p2p call connects
// after about 2.2 s of it.
const DefaultDuration = 5 * time.Second

// DefaultPlan is every netem preset against every preset, for every ICE
// configuration: 7 × 7 × 4 = 196 cells.
func DefaultPlan() Plan {
	p := Plan{ICE: slices.Clone(ICEConfigs), Seed: 1, Duration: DefaultDuration}
	for _, n := range netem.NATs {
		p.NATs = append(p.NATs, PresetNAT(n))
	}
	return p
}

// Cell is one run of the grid: the offerer behind Row, the answerer
// behind Col, both with ICE configuration ICE.
type Cell struct {
	ICE      ICEConfig
	Row, Col NAT
}

func (c Cell) String() string { return fmt.Sprintf("%s: %s -> %s", c.ICE, c.Row.Name, c.Col.Name) }

// Expect returns what must happen in c.
func (c Cell) Expect() Expectation { return Expect(c.Row.Behaviour(), c.Col.Behaviour(), c.ICE) }

// Cells lists the grid in order: by ICE configuration, then row, then
// column.
func (p Plan) Cells() []Cell {
	var out []Cell
	for _, ic := range p.ICE {
		for _, r := range p.NATs {
			for _, c := range p.NATs {
				out = append(out, Cell{ICE: ic, Row: r, Col: c})
			}
		}
	}
	return out
}

// Participant names in every cell: the offerer (row) and the answerer.
const (
	offerer  = "a"
	answerer = "b"
)

// Access-link delays of a cell, each way. With no delay every packet
// arrives at the instant it is sent, on the same virtual instants as the
// ICE agents' 200 ms check ticks, and the order of same-instant events
// (picked by the scheduler) decided which pair won; two different odd
// delays keep arrivals off the ticks and off each other.
var (
	offererDelay  = phase.OffererDelay.Value().String()
	answererDelay = phase.AnswererDelay.Value().String()
)

// Scenario builds the p2p scenario of one cell: two participants sending
// audio only (the cell is about connecting, not media).
func (p Plan) Scenario(c Cell) (*scenarios.Scenario, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "name: matrix\ntopology: p2p\nduration: %s\nseed: %d\nice: %s\n", p.Duration, p.Seed, c.ICE.scenarioICE())
	if p.Backend != "" {
		fmt.Fprintf(&b, "backend: %s\n", p.Backend)
	}
	b.WriteString("participants:\n")
	for _, pt := range []struct {
		name  string
		nat   NAT
		delay string
	}{{offerer, c.Row, offererDelay}, {answerer, c.Col, answererDelay}} {
		fmt.Fprintf(&b, "  - name: %s\n    nat: %s\n    publish: [audio]\n    uplink: {delay: %s}\n    downlink: {delay: %s}\n",
			pt.name, pt.nat.scenarioNAT(), pt.delay, pt.delay)
	}
	s, err := scenarios.Parse("matrix "+c.String(), []byte(b.String()))
	if err != nil {
		return nil, fmt.Errorf("cell %s: %w", c, err)
	}
	return s, nil
}
