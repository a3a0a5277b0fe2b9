package kernel

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rtclab/rtclab/netem"
)

// natRules is the nftables ruleset of one NAT in its namespace: "wan" is
// its outside interface, inside the address of the one host behind it.
// The RFC 4787 behaviours (verified with coturn's turnutils_natdiscovery,
// diagnose/netns_test.go):
//
//   - mapping (section 4.1): masquerade keeps an inside address:port's
//     outside port for every destination (endpoint-independent);
//     "fully-random" gives every new destination address:port its own
//     port (address-and-port-dependent). Address-dependent mapping has no
//     nftables form and is emulated as address-and-port-dependent.
//   - filtering (section 5): conntrack lets in only replies from the
//     exact address:port sent to (address-and-port-dependent); a dnat of
//     every inbound packet to the inside host lets in anyone
//     (endpoint-independent); a dnat only for sources in a set of the
//     addresses the host has sent to, refreshed by outbound packets and
//     forgotten after the mapping lifetime, lets in any port of those
//     (address-dependent).
//
// A firewall that blocks UDP (RFC 768) drops it in the forward chain, both
// ways, except to and from the allowed servers.
func natRules(c netem.NATConfig, inside net.IP, fw netem.Firewall, allowed []net.IP) string {
	life := c.Lifetime
	if life == 0 {
		life = netem.DefaultMappingLifetime
	}
	var b strings.Builder
	b.WriteString("table ip rtclab {\n")
	if c.Filtering == netem.AddressDependent {
		fmt.Fprintf(&b, "\tset contacted { type ipv4_addr; flags dynamic, timeout; timeout %ds; }\n", int(life/time.Second))
	}
	// Unsolicited packets to the NAT itself are dropped in the input
	// hook, before conntrack confirms an entry for them: a confirmed
	// entry (peer -> outside:port) would take the outside port a later
	// outbound packet to that peer maps to, and masquerade would then
	// pick another port, breaking endpoint-independent mapping exactly
	// when two peers' ICE checks cross (RFC 8445 section 2.3).
	b.WriteString("\tchain inbound {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tiifname \"wan\" ct state new drop\n\t}\n")
	b.WriteString("\tchain filt {\n\t\ttype filter hook forward priority filter; policy accept;\n")
	if fw.BlockUDP {
		if len(allowed) > 0 {
			set := ipSet(allowed)
			fmt.Fprintf(&b, "\t\tmeta l4proto udp ip daddr %s accept\n\t\tmeta l4proto udp ip saddr %s accept\n", set, set)
		}
		b.WriteString("\t\tmeta l4proto udp drop\n")
	}
	if c.Filtering == netem.AddressDependent {
		b.WriteString("\t\toifname \"wan\" update @contacted { ip daddr }\n")
	}
	b.WriteString("\t}\n")
	switch c.Filtering {
	case netem.EndpointIndependent:
		fmt.Fprintf(&b, "\tchain prenat {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tiifname \"wan\" meta l4proto { udp, tcp } dnat to %s\n\t}\n", inside)
	case netem.AddressDependent:
		fmt.Fprintf(&b, "\tchain prenat {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tiifname \"wan\" meta l4proto { udp, tcp } ip saddr @contacted dnat to %s\n\t}\n", inside)
	}
	masq := "masquerade"
	if c.Mapping != netem.EndpointIndependent {
		masq += " fully-random"
	}
	fmt.Fprintf(&b, "\tchain postnat {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname \"wan\" %s\n\t}\n}\n", masq)
	return b.String()
}

func ipSet(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return "{ " + strings.Join(s, ", ") + " }"
}

// loadRules replaces the namespace's ruleset.
func loadRules(ns, rules string) error {
	cmd := command(context.Background(), ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader("flush ruleset\n" + rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %w: %s\n%s", ns, err, strings.TrimSpace(string(out)), rules)
	}
	return nil
}
