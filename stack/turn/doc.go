// Package turn runs rtclab's STUN/TURN server: pion/turn (RFC 8656) with
// coturn-style time-limited REST credentials (draft-uberti-behave-turn-rest)
// and a relay policy that refuses peers an internet-facing TURN server must
// never reach (loopback, private, link-local, unspecified, multicast and
// IPv4-mapped IPv6 addresses), as coturn's default denied-peer-ip list does.
//
// The server listens on whatever transport.Net it is given: a vnet host in
// the emulated network, or the real stack (stdnet) for `rtclab serve`.
package turn
