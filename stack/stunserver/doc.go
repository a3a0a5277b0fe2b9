// Package stunserver is an RFC 5780 STUN responder: it answers Binding
// requests (RFC 8489 §6) on two IP addresses and two ports, includes
// OTHER-ADDRESS and RESPONSE-ORIGIN (RFC 5780 §7.4, §7.3) in every response,
// and honours CHANGE-REQUEST (RFC 5780 §7.2) by answering from the socket
// with the other IP address and/or the other port. With those four sockets a
// client can tell its NAT's mapping and filtering behaviour (RFC 5780 §4.3,
// §4.4).
//
// With only the primary address configured it is a plain STUN server: no
// OTHER-ADDRESS, and a CHANGE-REQUEST is answered with 420 Unknown Attribute
// (RFC 5780 §6.1), which is how a client learns discovery is unsupported.
//
// Either way it follows RFC 8489 §6.3: a request with a FINGERPRINT that
// does not match is discarded (§7), one with a comprehension-required
// attribute it does not implement (PADDING and RESPONSE-PORT of RFC 5780
// among them) gets 420 with UNKNOWN-ATTRIBUTES, and datagrams of any size
// are read whole. `rtclab conform` checks all of it (TestConform).
package stunserver
