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
		epoch    int
		shared   bool
		fw       netem.Firewall
		allowed  []net.IP
		has, not []string
	}{
		{"full cone", nat(eim, eim), 0, false, netem.Firewall{}, nil,
			[]string{"oifname \"wan\" masquerade\n", "dnat to 10.0.1.2", "ct state new drop"}, []string{"fully-random", "@contacted", "l4proto udp drop"}},
		{"restricted cone", nat(eim, adf), 0, false, netem.Firewall{}, nil,
			[]string{"set contacted", "timeout 120s", "update @contacted { ip daddr }", "ip saddr @contacted meta l4proto { udp, tcp } dnat to 10.0.1.2"}, []string{"fully-random"}},
		{"port-restricted cone", nat(eim, apdf), 0, false, netem.Firewall{}, nil,
			[]string{"masquerade\n"}, []string{"dnat", "fully-random", "@contacted"}},
		{"symmetric", nat(apdf, apdf), 0, false, netem.Firewall{}, nil,
			[]string{"masquerade fully-random"}, []string{"dnat"}},
		{"udp blocked", nat(eim, apdf), 0, false, netem.Firewall{BlockUDP: true}, nil,
			[]string{"meta l4proto udp drop"}, []string{"accept\n\t\tmeta l4proto udp ip saddr"}},
		{"udp blocked but to turn", nat(eim, apdf), 0, false, netem.Firewall{BlockUDP: true}, []net.IP{net.IPv4(198, 51, 100, 10)},
			[]string{"meta l4proto udp ip daddr { 198.51.100.10 } accept", "meta l4proto udp ip saddr { 198.51.100.10 } accept", "meta l4proto udp drop"}, nil},
		{"full cone rebound", nat(eim, eim), 1, false, netem.Firewall{}, nil,
			[]string{"ct zone set 2", "snat to 203.0.113.10 : udp sport ^ 1024", "dnat to 10.0.1.2 : udp dport ^ 1024", "meta l4proto tcp dnat to 10.0.1.2", "masquerade\n"}, []string{"ct zone set 1\n"}},
		{"port-restricted cone rebound twice", nat(eim, apdf), 2, false, netem.Firewall{}, nil,
			[]string{"ct zone set 3", "udp sport ^ 2048"}, []string{"dnat", "fully-random"}},
		{"symmetric rebound", nat(apdf, apdf), 1, false, netem.Firewall{}, nil,
			[]string{"ct zone set 2", "masquerade fully-random"}, []string{"snat", "dnat"}},
		{"address-dependent mapping", nat(adf, apdf), 0, false, netem.Firewall{}, nil,
			[]string{"ip daddr 198.51.100.10 meta l4proto udp snat to 203.0.113.10 : udp sport ^ 16\n",
				"ip daddr 203.0.113.11 meta l4proto udp snat to 203.0.113.10 : udp sport ^ 32\n",
				"oifname \"wan\" meta l4proto udp snat to 203.0.113.10 : udp sport ^ 48\n"}, []string{"dnat", "fully-random"}},
		{"address-dependent mapping and filtering", nat(adf, adf), 0, false, netem.Firewall{}, nil,
			[]string{"ip saddr @contacted ip saddr 203.0.113.11 meta l4proto udp dnat to 10.0.1.2 : udp dport ^ 32\n"}, nil},
		{"restricted cone shared", nat(eim, adf), 0, true, netem.Firewall{}, nil,
			[]string{"map owner { type inet_service : ipv4_addr . inet_service; flags dynamic, timeout; timeout 120s; }",
				"iifname \"wan\" ip saddr @contacted meta l4proto udp dnat ip to udp dport map @owner\n",
				"update @owner { udp sport : ct original ip saddr . ct original proto-src }"}, []string{"dnat to 10.0.1.2"}},
		{"port-restricted cone shared", nat(eim, apdf), 0, true, netem.Firewall{}, nil,
			nil, []string{"owner", "dnat"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := natRules(natSpec{c: tc.c, epoch: tc.epoch, shared: tc.shared, inside: host, outside: net.IPv4(203, 0, 113, 10), fw: tc.fw, allowed: tc.allowed,
				dests: []net.IP{net.IPv4(198, 51, 100, 10), net.IPv4(203, 0, 113, 11)}})
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
