package kernel

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rtclab/rtclab/netem"
)

// natSpec is one NAT of a kernel network: its namespace and what
// natRules writes there.
type natSpec struct {
	ns      string
	c       netem.NATConfig
	inside  net.IP // the one host behind it
	outside net.IP // its address on "wan"
	fw      netem.Firewall
	allowed []net.IP // servers a UDP-blocking firewall lets through
	// dests are the addresses on the run's networks (servers, every
	// host's public address) in a fixed order: an address-dependent
	// mapping gives each its own port.
	dests []net.IP
	// epoch counts the rebinds (Network.Rebind) so far.
	epoch int
	// shared: more than one host behind it (a LAN): unsolicited packets
	// find their inside host through the owner map, not one dnat target.
	shared bool
}

// epochMask is what an endpoint-independent mapping XORs into a UDP
// port after the epoch-th rebind: 0 before any (masquerade keeps the
// port), then a different non-zero value in bits 10-13 for each of 15
// epochs in turn, so that every rebind gives every inside port a new
// outside port. Bit 15 is never touched: an ephemeral port (32768 and up)
// stays one.
func epochMask(epoch int) uint16 {
	if epoch == 0 {
		return 0
	}
	return uint16((epoch-1)%15+1) << 10
}

// destMask is what an address-dependent mapping XORs into a UDP port for
// the j-th destination (bits 4-9, distinct for 63 addresses; those
// further on share).
func destMask(j int) uint16 { return uint16(j%63+1) << 4 }

// natRules is the nftables ruleset of one NAT in its namespace: "wan" is
// its outside interface, inside the address of the one host behind it.
// The RFC 4787 behaviours (verified with coturn's turnutils_natdiscovery,
// diagnose/netns_test.go, and per preset by TestNATBehaviour):
//
//   - mapping (section 4.1): masquerade keeps an inside address:port's
//     outside port for every destination (endpoint-independent);
//     "fully-random" gives every new destination address:port its own
//     port (address-and-port-dependent). Address-dependent mapping is a
//     snat of UDP to the inside port XOR a constant per destination
//     address (destMask: one per address of the run's networks, and one
//     for any other), so every port of one address sees one mapping and
//     each address another. TCP keeps masquerade's mapping.
//   - filtering (section 5): conntrack lets in only replies from the
//     exact address:port sent to (address-and-port-dependent); a dnat of
//     every inbound packet to the inside host lets in anyone
//     (endpoint-independent); a dnat only for sources in a set of the
//     addresses the host has sent to, refreshed by outbound packets and
//     forgotten after the mapping lifetime, lets in any port of those
//     (address-dependent). The dnat undoes the mapping's XOR. A NAT
//     shared by a LAN's hosts (natSpec.shared) cannot dnat to one host:
//     it learns, from every outbound UDP packet after translation, which
//     inside address:port an outside port stands for (map owner, with
//     the mapping's lifetime) and sends unsolicited packets there.
//   - rebinding (section 4.3): every packet but TCP is tracked in
//     conntrack zone epoch+1, so a rebind, which reloads the rules with
//     the next epoch, leaves every UDP mapping behind in the old zone; an
//     endpoint-independent mapping then XORs epochMask into the port
//     (masquerade would give the same port again), a fully-random one
//     draws new ports anyway.
//
// A firewall that blocks UDP (RFC 768) drops it in the forward chain, both
// ways, except to and from the allowed servers.
func natRules(s natSpec) string {
	c := s.c
	life := c.Lifetime
	if life == 0 {
		life = netem.DefaultMappingLifetime
	}
	var b strings.Builder
	b.WriteString("table ip rtclab {\n")
	if c.Filtering == netem.AddressDependent {
		fmt.Fprintf(&b, "\tset contacted { type ipv4_addr; flags dynamic, timeout; timeout %ds; }\n", int(life/time.Second))
	}
	owner := s.shared && c.Filtering != netem.AddressAndPortDependent
	if owner {
		fmt.Fprintf(&b, "\tmap owner { type inet_service : ipv4_addr . inet_service; flags dynamic, timeout; timeout %ds; }\n", int(life/time.Second))
	}
	// TCP stays in the default zone: a rebinding moves UDP mappings
	// only, as in-process (netem/rebind.go), and a program's TCP
	// connection (a browser's signaling) outlives it.
	fmt.Fprintf(&b, "\tchain zone {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tmeta l4proto != tcp ct zone set %d\n\t}\n", s.epoch+1)
	// Unsolicited packets to the NAT itself are dropped in the input
	// hook, before conntrack confirms an entry for them: a confirmed
	// entry (peer -> outside:port) would take the outside port a later
	// outbound packet to that peer maps to, and masquerade would then
	// pick another port, breaking endpoint-independent mapping exactly
	// when two peers' ICE checks cross (RFC 8445 section 2.3).
	b.WriteString("\tchain inbound {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tiifname \"wan\" ct state new drop\n\t}\n")
	b.WriteString("\tchain filt {\n\t\ttype filter hook forward priority filter; policy accept;\n")
	if s.fw.BlockUDP {
		if len(s.allowed) > 0 {
			set := ipSet(s.allowed)
			fmt.Fprintf(&b, "\t\tmeta l4proto udp ip daddr %s accept\n\t\tmeta l4proto udp ip saddr %s accept\n", set, set)
		}
		b.WriteString("\t\tmeta l4proto udp drop\n")
	}
	if c.Filtering == netem.AddressDependent {
		b.WriteString("\t\toifname \"wan\" update @contacted { ip daddr }\n")
	}
	b.WriteString("\t}\n")
	// The UDP port a mapping XORs in: per destination for an
	// address-dependent mapping (the last for any other address), else
	// one for all.
	xors := []uint16{epochMask(s.epoch)}
	var match []string
	if c.Mapping == netem.AddressDependent {
		xors = xors[:0]
		for j, d := range s.dests {
			xors = append(xors, destMask(j)^epochMask(s.epoch))
			match = append(match, d.String())
		}
		xors = append(xors, destMask(len(s.dests))^epochMask(s.epoch))
	}
	xorRules := func(dir, addr, port, action string) {
		for j, x := range xors {
			sel := ""
			if j < len(match) {
				sel = fmt.Sprintf("ip %s %s ", addr, match[j])
			}
			fmt.Fprintf(&b, "\t\t%s %smeta l4proto udp %s : udp %s ^ %d\n", dir, sel, action, port, x)
		}
	}
	xor := c.Mapping == netem.AddressDependent || (c.Mapping == netem.EndpointIndependent && s.epoch > 0)
	if c.Filtering == netem.EndpointIndependent || c.Filtering == netem.AddressDependent {
		b.WriteString("\tchain prenat {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
		from := "iifname \"wan\""
		if c.Filtering == netem.AddressDependent {
			from += " ip saddr @contacted"
		}
		if owner {
			// The inside address:port behind an outside port, learnt
			// from outbound packets after translation (chain learn).
			fmt.Fprintf(&b, "\t\t%s meta l4proto udp dnat ip to udp dport map @owner\n", from)
		} else if xor {
			xorRules(from, "saddr", "dport", "dnat to "+s.inside.String())
			fmt.Fprintf(&b, "\t\t%s meta l4proto tcp dnat to %s\n", from, s.inside)
		} else {
			fmt.Fprintf(&b, "\t\t%s meta l4proto { udp, tcp } dnat to %s\n", from, s.inside)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("\tchain postnat {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	if xor {
		xorRules("oifname \"wan\"", "daddr", "sport", "snat to "+s.outside.String())
	}
	masq := "masquerade"
	if c.Mapping == netem.AddressAndPortDependent {
		masq += " fully-random"
	}
	fmt.Fprintf(&b, "\t\toifname \"wan\" %s\n\t}\n", masq)
	if owner {
		b.WriteString("\tchain learn {\n\t\ttype filter hook postrouting priority srcnat + 1; policy accept;\n" +
			"\t\toifname \"wan\" meta l4proto udp update @owner { udp sport : ct original ip saddr . ct original proto-src }\n\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func ipSet(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return "{ " + strings.Join(s, ", ") + " }"
}

// loadRules replaces the namespace's ruleset (one nft transaction: no
// packet sees a half-loaded NAT).
func loadRules(ns, rules string) error {
	cmd := command(context.Background(), ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader("flush ruleset\n" + rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %w: %s\n%s", ns, err, strings.TrimSpace(string(out)), rules)
	}
	return nil
}
