package matrix

import (
	"slices"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/netem"
)

// expectedGrids pins the expectations table for the presets, one letter
// per cell (rows: offerer, columns: answerer, in netem.NATs order: open,
// full-cone, restricted-cone, port-restricted-cone, symmetric, double-nat,
// udp-blocked). H host, S srflx, P prflx, R relay, T relay over TCP,
// F failed.
var expectedGrids = map[ICEConfig]string{
	HostOnly: `
		H P P P P P F
		P F F F F F F
		P F F F F F F
		P F F F F F F
		P F F F F F F
		P F F F F F F
		F F F F F F F`,
	STUNOnly: `
		H S S S P S F
		S S S S P S F
		S S S S P S F
		S S S S F S F
		P P P F F F F
		S S S S F S F
		F F F F F F F`,
	STUNTURN: `
		H S S S P S T
		S S S S P S T
		S S S S P S T
		S S S S R S T
		P P P R R R T
		S S S S R S T
		T T T T T T T`,
	RelayOnly: `
		R R R R R R T
		R R R R R R T
		R R R R R R T
		R R R R R R T
		R R R R R R T
		R R R R R R T
		T T T T T T T`,
	// mDNS: as stun-turn, but open against open loses its host pair.
	MDNS: `
		S S S S P S T
		S S S S P S T
		S S S S P S T
		S S S S R S T
		P P P R R R T
		S S S S R S T
		T T T T T T T`,
	// One LAN has one NAT: the diagonal only.
	MDNSLAN: `
		H - - - - - -
		- H - - - - -
		- - H - - - -
		- - - H - - -
		- - - - H - -
		- - - - - H -
		- - - - - - T`,
	MDNSLANStrip: `
		S - - - - - -
		- S - - - - -
		- - S - - - -
		- - - S - - -
		- - - - R - -
		- - - - - S -
		- - - - - - T`,
}

var letters = map[string]Path{"H": Host, "S": Srflx, "P": Prflx, "R": Relay, "T": RelayTCP, "F": Failed}

func TestExpectedGrids(t *testing.T) {
	for _, ice := range append(slices.Clone(ICEConfigs), MDNSConfigs...) {
		rows := strings.Split(strings.TrimSpace(expectedGrids[ice]), "\n")
		if len(rows) != len(netem.NATs) {
			t.Fatalf("%s: %d rows", ice, len(rows))
		}
		for i, row := range rows {
			cols := strings.Fields(row)
			for j, l := range cols {
				if l == "-" {
					continue
				}
				a, b := netem.NATs[i], netem.NATs[j]
				got := Expect(presetBehaviours[a], presetBehaviours[b], ice)
				if got.Path != letters[l] {
					t.Errorf("%s %s -> %s: expected %s by rule %s, the grid says %s", ice, a, b, got.Path, got.Rule, letters[l])
				}
				if got.Why == "" || got.Rule == "" || got.Rule == "none" {
					t.Errorf("%s %s -> %s: no rule or reason: %+v", ice, a, b, got)
				}
			}
		}
	}
}

// TestExpectExamples checks the cases the issue names, and rules that
// the presets do not reach (custom NATs).
func TestExpectExamples(t *testing.T) {
	b := func(m, f netem.Dependency) Behaviour { return Behaviour{Mapping: m, Filtering: f} }
	ei, ad, apd := netem.EndpointIndependent, netem.AddressDependent, netem.AddressAndPortDependent
	tests := []struct {
		name string
		a, b Behaviour
		ice  ICEConfig
		want Path
		rule string
	}{
		{"symmetric to port-restricted: relay only", presetBehaviours[netem.Symmetric], presetBehaviours[netem.PortRestrictedCone], STUNTURN, Relay, "per-destination-vs-port-filter"},
		{"symmetric to port-restricted without TURN fails", presetBehaviours[netem.Symmetric], presetBehaviours[netem.PortRestrictedCone], STUNOnly, Failed, "per-destination-vs-port-filter"},
		{"full cone to symmetric: prflx", presetBehaviours[netem.FullCone], presetBehaviours[netem.Symmetric], STUNOnly, Prflx, "per-destination-vs-address-filter"},
		{"host only across two NATs never connects", presetBehaviours[netem.FullCone], presetBehaviours[netem.FullCone], HostOnly, Failed, "host-only-both-nat"},
		{"udp-blocked with TURN relays over TCP", presetBehaviours[netem.UDPBlocked], presetBehaviours[netem.Open], STUNTURN, RelayTCP, "udp-blocked-turn-tcp"},
		{"udp-blocked without TURN fails", presetBehaviours[netem.Open], presetBehaviours[netem.UDPBlocked], STUNOnly, Failed, "udp-blocked-no-turn"},
		{"relay policy wins over open", presetBehaviours[netem.Open], presetBehaviours[netem.Open], RelayOnly, Relay, "relay-policy"},
		{"symmetric with address filtering vs symmetric", b(apd, ad), b(apd, ad), STUNTURN, Relay, "per-destination-vs-port-filter"},
		{"address-dependent mapping counts as per destination", b(ad, ad), b(ei, ei), STUNOnly, Prflx, "per-destination-vs-address-filter"},
		{"cone with open filtering vs cone", b(ei, ei), b(ei, apd), STUNOnly, Srflx, "cone-vs-cone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Expect(tt.a, tt.b, tt.ice)
			if got.Path != tt.want || got.Rule != tt.rule {
				t.Errorf("got %s by %s, want %s by %s (%s)", got.Path, got.Rule, tt.want, tt.rule, got.Why)
			}
			rev := Expect(tt.b, tt.a, tt.ice)
			if rev != got {
				t.Errorf("not symmetric: %+v vs %+v", got, rev)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	ei, ad, apd := netem.EndpointIndependent, netem.AddressDependent, netem.AddressAndPortDependent
	tests := []struct {
		home, cgn netem.NATConfig
		want      Behaviour
	}{
		{netem.NATConfig{Mapping: ei, Filtering: apd}, netem.NATConfig{Mapping: ei, Filtering: apd}, Behaviour{Mapping: ei, Filtering: apd}},
		{netem.NATConfig{Mapping: ei, Filtering: ei}, netem.NATConfig{Mapping: apd, Filtering: ad}, Behaviour{Mapping: apd, Filtering: ad}},
		{netem.NATConfig{Mapping: ad, Filtering: ad}, netem.NATConfig{Mapping: ei, Filtering: ei}, Behaviour{Mapping: ad, Filtering: ad}},
	}
	for _, tt := range tests {
		if got := combine(tt.home, tt.cgn); got != tt.want {
			t.Errorf("combine(%+v, %+v) = %+v, want %+v", tt.home, tt.cgn, got, tt.want)
		}
	}
}

// TestPresetBehavioursMatchNetem checks the table in expect.go against
// what netem says it built for each preset.
func TestPresetBehavioursMatchNetem(t *testing.T) {
	var hosts []netem.HostConfig
	for _, n := range netem.NATs {
		hosts = append(hosts, netem.HostConfig{Name: string(n), NAT: n})
	}
	nw, err := netem.New(netem.Config{Seed: 1, Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	for _, n := range netem.NATs {
		h, _ := nw.Host(string(n))
		b, ok := presetBehaviours[n]
		if !ok {
			t.Errorf("%s: no behaviour in the table", n)
			continue
		}
		if b.Public != (h.Behaviour == "no NAT") {
			t.Errorf("%s: public %v, netem says %q", n, b.Public, h.Behaviour)
		}
		if b.BlockUDP != strings.Contains(h.Behaviour, "UDP blocked") {
			t.Errorf("%s: blocks UDP %v, netem says %q", n, b.BlockUDP, h.Behaviour)
		}
		if !b.Public {
			want := string(b.Mapping) + " mapping, " + string(b.Filtering) + " filtering"
			if !strings.HasPrefix(h.Behaviour, want) {
				t.Errorf("%s: table says %q, netem says %q", n, want, h.Behaviour)
			}
		}
	}
}

func TestEveryRuleIsReachable(t *testing.T) {
	used := map[string]bool{}
	for _, ice := range append(slices.Clone(ICEConfigs), MDNSConfigs...) {
		for _, a := range netem.NATs {
			for _, b := range netem.NATs {
				used[Expect(presetBehaviours[a], presetBehaviours[b], ice).Rule] = true
			}
		}
	}
	for _, r := range Rules() {
		if !used[r.Name] {
			t.Errorf("rule %s decides no preset cell", r.Name)
		}
	}
}
