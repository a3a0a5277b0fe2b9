package kernel

import (
	"net"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/netem"
)

func TestNATRules(t *testing.T) {
	host := net.IPv4(10, 0, 1, 2)
	nat := func(m, f netem.Dependency) netem.NATConfig { return netem.NATConfig{Mapping: m, Filtering: f} }
	eim, adf, apdf := netem.EndpointIndependent, netem.AddressDependent, netem.AddressAndPortDependent
	for _, tc := range []struct {
		name     string
		c        netem.NATConfig
		fw       netem.Firewall
		allowed  []net.IP
		has, not []string
	}{
		{"full cone", nat(eim, eim), netem.Firewall{}, nil,
			[]string{"oifname \"wan\" masquerade\n", "dnat to 10.0.1.2", "ct state new drop"}, []string{"fully-random", "@contacted", "l4proto udp drop"}},
		{"restricted cone", nat(eim, adf), netem.Firewall{}, nil,
			[]string{"set contacted", "timeout 120s", "update @contacted { ip daddr }", "ip saddr @contacted dnat to 10.0.1.2"}, []string{"fully-random"}},
		{"port-restricted cone", nat(eim, apdf), netem.Firewall{}, nil,
			[]string{"masquerade\n"}, []string{"dnat", "fully-random", "@contacted"}},
		{"symmetric", nat(apdf, apdf), netem.Firewall{}, nil,
			[]string{"masquerade fully-random"}, []string{"dnat"}},
		{"udp blocked", nat(eim, apdf), netem.Firewall{BlockUDP: true}, nil,
			[]string{"meta l4proto udp drop"}, []string{"accept\n\t\tmeta l4proto udp ip saddr"}},
		{"udp blocked but to turn", nat(eim, apdf), netem.Firewall{BlockUDP: true}, []net.IP{net.IPv4(198, 51, 100, 10)},
			[]string{"meta l4proto udp ip daddr { 198.51.100.10 } accept", "meta l4proto udp ip saddr { 198.51.100.10 } accept", "meta l4proto udp drop"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := natRules(tc.c, host, tc.fw, tc.allowed)
			for _, s := range tc.has {
				if !strings.Contains(r, s) {
					t.Errorf("missing %q in\n%s", s, r)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(r, s) {
					t.Errorf("unexpected %q in\n%s", s, r)
				}
			}
		})
	}
}
