// Package mdns resolves and answers .local names over multicast DNS
// (RFC 6762) on any transport.Net: what a browser's mDNS responder does
// for the names that hide its ICE host candidates
// (draft-ietf-rtcweb-mdns-ice-candidates, section 3).
//
// pion's own (pion/mdns v2.1.0, used by pion/ice's
// MulticastDNSModeQueryAndGather) cannot run on an emulated network: its
// Server opens its unicast sockets with the operating system's
// net.ListenUDP, reads the interfaces' addresses from the operating
// system, and joins the group through golang.org/x/net/ipv4, which needs
// a kernel socket. So rtclab's PeerConnections run pion with mDNS
// disabled and this package does the draft's part around them
// (stack/peer: Conceal, Resolve).
//
// It implements the subset the draft needs: one-shot queries for A
// records (QU bit clear, ID 0, RFC 6762 sections 5.1 and 18.1), asked
// again after 1 s, 2 s and 4 s (section 5.2), and answers for the
// responder's own unique names, sent to the group at once with the
// cache-flush bit set (sections 6 and 10.2) and a TTL of 120 s.
package mdns
