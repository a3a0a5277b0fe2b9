package matrix

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/netem"
)

func TestParseFile(t *testing.T) {
	p, err := ParseFile("grid.yaml", []byte(`
nats: [open, cgn-sym, symmetric]
custom:
  - name: cgn-sym
    mapping: endpoint-independent
    filtering: address-dependent
    cgn: {mapping: address-and-port-dependent, filtering: address-and-port-dependent}
ice: [stun, relay-only]
seed: 7
duration: 3s
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.NATs) != 3 || p.NATs[1].Name != "cgn-sym" || p.NATs[2].Preset != netem.Symmetric {
		t.Errorf("nats %+v", p.NATs)
	}
	if got := p.NATs[1].Behaviour(); !got.perDestination() || got.Filtering != netem.AddressAndPortDependent {
		t.Errorf("cgn-sym behaves as %+v", got)
	}
	if len(p.ICE) != 2 || p.ICE[1] != RelayOnly || p.Seed != 7 || p.Duration != 3*time.Second {
		t.Errorf("plan %+v", p)
	}
	if n := len(p.Cells()); n != 18 {
		t.Errorf("%d cells, want 3x3x2", n)
	}
	s, err := p.Scenario(p.Cells()[1])
	if err != nil {
		t.Fatalf("custom NAT scenario: %v", err)
	}
	if s.Topology != "p2p" || len(s.Participants) != 2 {
		t.Errorf("scenario %+v", s)
	}

	// Without nats: every preset, then the custom ones.
	p, err = ParseFile("g.yaml", []byte("custom:\n  - {name: x, mapping: endpoint-independent, filtering: endpoint-independent}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.NATs) != len(netem.NATs)+1 || p.NATs[len(p.NATs)-1].Name != "x" || len(p.ICE) != 4 {
		t.Errorf("widened plan: %d NATs, %d ICE", len(p.NATs), len(p.ICE))
	}
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"empty", "", []string{"g.yaml: the file is empty"}},
		{"not yaml", "nats: [open\n", []string{"g.yaml:"}},
		{"unknown field", "nat: [open]\n", []string{`g.yaml:1: nat: unknown field "nat" (allowed: nats, custom, ice, seed, duration)`}},
		{"unknown NAT", "nats: [open, cone]\n", []string{`g.yaml:1: nats[1]: unknown NAT "cone" (allowed: open, full-cone`}},
		{"bad ice and seed, all reported", "ice: [stun, turn]\nseed: -1\n", []string{
			`g.yaml:1: ice[1]: unknown ICE configuration "turn" (allowed: host-only, stun, stun-turn, relay-only, mdns, mdns-lan, mdns-lan-strip)`,
			`g.yaml:2: seed: "-1": want a whole number >= 1`}},
		{"duration range", "duration: 10m\n", []string{"g.yaml:1: duration: 10m0s is outside 1s..1m0s"}},
		{"duration unit", "duration: 5\n", []string{`g.yaml:1: duration: "5" is not a duration`}},
		{"custom bad mapping", "custom:\n  - name: x\n    mapping: cone\n    filtering: endpoint-independent\n", []string{
			`g.yaml:3: custom[0].mapping: "cone" (allowed: endpoint-independent, address-dependent, address-and-port-dependent)`}},
		{"custom missing filtering", "custom:\n  - name: x\n    mapping: endpoint-independent\n", []string{"g.yaml:2: custom[0].filtering: is required"}},
		{"custom preset name", "custom:\n  - {name: symmetric, mapping: endpoint-independent, filtering: endpoint-independent}\n", []string{`custom[0].name: "symmetric" is a preset's name`}},
		{"custom not listed", "nats: [open]\ncustom:\n  - {name: x, mapping: endpoint-independent, filtering: endpoint-independent}\n", []string{`g.yaml:1: nats: custom NAT "x" is not listed`}},
		{"duplicate", "nats: [open, open]\n", []string{`g.yaml:1: nats[1]: "open" is listed twice`}},
		{"syntax error on its own line", "nats: [open]\ncustom:\n  - name: x\n    mapping: endpoint-independent\n   filtering: endpoint-independent\n",
			[]string{`g.yaml:5: did not find expected '-' indicator`}},
		{"typo in a nested key", "custom:\n  - {name: x, mapping: endpoint-independent, filtering: endpoint-independent, cgn: {maping: endpoint-independent}}\n",
			[]string{`g.yaml:2: custom[0].cgn.maping: unknown field "maping" (allowed: mapping, filtering); did you mean "mapping"?`}},
		{"NAT typo", "nats: [open, symetric]\n", []string{`nats[1]: unknown NAT "symetric" (allowed: open, full-cone, restricted-cone, port-restricted-cone, symmetric, double-nat, udp-blocked); did you mean "symmetric"?`}},
		{"seed not a number", "seed: many\n", []string{`g.yaml:1: seed: "many" is not valid here: want a whole number`}},
		{"hairpinning refused", "custom:\n  - {name: x, mapping: endpoint-independent, filtering: endpoint-independent, hairpinning: true}\n", []string{`custom[0].hairpinning: unknown field "hairpinning" (allowed: name, mapping, filtering, cgn)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile("g.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
