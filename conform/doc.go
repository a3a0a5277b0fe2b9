// Package conform checks a STUN/TURN server against the MUSTs and SHOULDs
// of RFC 8489 (STUN), RFC 8656 (TURN), RFC 5780 (NAT behaviour discovery),
// RFC 6062 (TCP allocations) and RFC 7635 (OAuth), and for relay security
// holes: it is `rtclab conform`.
//
// Each Check is declared with the RFC section it enforces, its level
// (MUST or SHOULD) and labels from the vocabulary in Labels; the comment
// above each declaration gives its test name and its requirement in RFC
// 2119 words, and conformance.yaml is generated from those comments
// (TestConformanceYAML fails when it is stale). The package's tests run
// the catalogue as Ginkgo specs against Debian's coturn and rtclab's own
// server, both started on loopback.
//
// Checks talk to the server with hand-built messages over UDP, TCP or
// TLS (RFC 8489 §6.2 framing, ChannelData padding on streams per RFC 8656
// §12.5), so that they can send what a well-behaved client never would.
// A relay-policy bypass is proven only by relaying to a UDP listener the
// suite runs itself on loopback and seeing the datagram arrive, never by
// probing anything else. A server's failure is a Fail outcome; Error means
// the measurement itself could not be taken (e.g. no allocation).
package conform
