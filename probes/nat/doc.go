// Package nat discovers a NAT's behaviour with the tests of RFC 5780 §4:
// the mapping behaviour (§4.3: endpoint-independent, address-dependent or
// address-and-port-dependent) and the filtering behaviour (§4.4, likewise),
// against a STUN server that supports OTHER-ADDRESS and CHANGE-REQUEST
// (rtclab's stack/stunserver, or coturn with two listening addresses).
//
// It also names the result with the older RFC 3489 words (full cone,
// restricted cone, port-restricted cone, symmetric) that support engineers
// and customers use.
package nat
