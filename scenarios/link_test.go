package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/netem"
)

const fullLink = `name: t
duration: 30s
participants:
  - name: alice
    nat:
      mapping: endpoint-independent
      filtering: address-dependent
      lifetime: 45s
      cgn: {mapping: endpoint-independent, filtering: address-and-port-dependent}
    firewall: {block_udp: true, allow_udp_to: [turn]}
    uplink: {rate: 2Mbps, queue: 64KB}
    downlink:
      loss: 2%
      burst: 3
      delay: 40ms
      jitter: 5ms
      jitter_distribution: normal
      reorder: true
      rate: 1.5Mbps
      queue: 100ms
      duplicate: 0.5%
      schedule:
        - at: 10s
          rate: 300kbps
        - {at: 20s, down: true}
        - {at: 22s, down: false, rate: unlimited}
  - name: bob
    downlink: {trace: "builtin:dip-2m-300k.mahi"}
`

func TestParseFullLink(t *testing.T) {
	s, err := Parse("t.yaml", []byte(fullLink))
	if err != nil {
		t.Fatal(err)
	}
	a := s.Participants[0]
	h := a.Resolved
	if h.HomeNAT == nil || h.HomeNAT.Filtering != netem.AddressDependent || h.HomeNAT.Lifetime != 45*time.Second {
		t.Errorf("home NAT %+v", h.HomeNAT)
	}
	if h.CGN == nil || h.CGN.Filtering != netem.AddressAndPortDependent {
		t.Errorf("cgn %+v", h.CGN)
	}
	if h.Firewall == nil || !h.Firewall.BlockUDP || h.Firewall.AllowUDPTo[0] != "turn" {
		t.Errorf("firewall %+v", h.Firewall)
	}
	want := netem.Impairment{Loss: 0.02, BurstLength: 3, Delay: 40 * time.Millisecond, Jitter: 5 * time.Millisecond,
		JitterDist: "normal", Reorder: true, Rate: 1_500_000, QueueDelay: 100 * time.Millisecond, Duplicate: 0.005}
	if h.Downlink != want {
		t.Errorf("downlink\n%+v\nwant\n%+v", h.Downlink, want)
	}
	if h.Uplink.Rate != 2_000_000 || h.Uplink.QueueBytes != 64<<10 {
		t.Errorf("uplink %+v", h.Uplink)
	}
	if len(a.Schedule) != 3 {
		t.Fatalf("%d steps", len(a.Schedule))
	}
	// Steps accumulate: at 20s the rate is still 300kbps, and the link down.
	if st := a.Schedule[1]; st.At != 20*time.Second || !st.Imp.Down || st.Imp.Rate != 300_000 || st.Imp.Loss != 0.02 {
		t.Errorf("step 2 %+v", st)
	}
	if st := a.Schedule[2]; st.Imp.Down || st.Imp.Rate != 0 {
		t.Errorf("step 3 %+v", st)
	}
	if tr := s.Participants[1].Resolved.Downlink.Trace; tr == nil || tr.MeanRate() < 1_500_000 {
		t.Errorf("trace %+v", tr)
	}
}

func TestParseLinkErrors(t *testing.T) {
	base := "name: t\nduration: 30s\nparticipants:\n  - name: a\n"
	tests := []struct {
		name, yaml string
		want       string
	}{
		{"bad rate", base + "    downlink: {rate: fast}\n", `t.yaml:5: participants[0].downlink.rate: "fast" is not a rate`},
		{"tiny rate", base + "    downlink: {rate: 10bps}\n", "participants[0].downlink.rate: 10 bit/s is outside 8kbps..100Gbps"},
		{"tiny queue", base + "    downlink: {rate: 1Mbps, queue: 100B}\n", "participants[0].downlink.queue: 100 bytes cannot hold one 1500-byte packet"},
		{"rate and trace", base + "    downlink: {rate: 1Mbps, trace: \"builtin:dip-2m-300k.mahi\"}\n", "participants[0].downlink.trace: set rate or trace, not both"},
		{"missing trace", base + "    downlink: {trace: nope.mahi}\n", "participants[0].downlink.trace: trace nope.mahi: open"},
		{"missing builtin trace", base + "    downlink: {trace: \"builtin:nope\"}\n", `no built-in trace "nope" (built-in: dip-2m-300k.mahi, steps-4m-1m.mahi)`},
		{"bad jitter dist", base + "    downlink: {jitter: 5ms, jitter_distribution: pareto}\n", `downlink.jitter_distribution: unknown distribution "pareto"`},
		{"burst below 1", base + "    downlink: {loss: 1%, burst: 0.5}\n", "downlink.burst: 0.5 packets is outside 1..1000"},
		{"step out of order", base + "    downlink:\n      schedule:\n        - {at: 10s, loss: 1%}\n        - {at: 5s, loss: 2%}\n",
			"t.yaml:8: participants[0].downlink.schedule[1].at: 5s is not after the step before (10s)"},
		{"step after end", base + "    downlink:\n      schedule:\n        - {at: 40s, loss: 1%}\n", "schedule[0].at: 40s is outside the scenario (0..30s)"},
		{"step without at", base + "    downlink:\n      schedule:\n        - {loss: 1%}\n", "schedule[0]: every step needs at:"},
		{"unknown step field", base + "    downlink:\n      schedule:\n        - {at: 1s, bandwidth: 1Mbps}\n", `unknown field "bandwidth" (allowed: at, down, loss, burst`},
		{"bad mapping", base + "    nat: {mapping: sticky, filtering: endpoint-independent}\n", `t.yaml:5: participants[0].nat.mapping: "sticky" (allowed: endpoint-independent`},
		{"nested unknown", base + "    nat: {mapping: endpoint-independent, filtering: endpoint-independent, colour: red}\n", `participants[0].nat.colour: unknown field "colour" (allowed: mapping, filtering, lifetime, hairpinning, port_preservation, cgn)`},
		{"hairpinning", base + "    nat: {mapping: endpoint-independent, filtering: endpoint-independent, hairpinning: true}\n", "nat.hairpinning: hairpinning is not configurable"},
		{"firewall server", base + "    firewall: {block_udp: true, allow_udp_to: [google]}\n", `firewall.allow_udp_to[0]: unknown server "google" (allowed: turn, sfu)`},
		{"preset typo", base + "    nat: symetric\n", `participants[0].nat: unknown NAT "symetric" (allowed: open, full-cone, restricted-cone, port-restricted-cone, symmetric, double-nat, udp-blocked`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n  %v\nlacks\n  %s", err, tt.want)
			}
		})
	}
}
