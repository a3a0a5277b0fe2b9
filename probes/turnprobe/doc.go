// Package turnprobe checks a TURN server (RFC 8656) from the client side:
// it makes one allocation over UDP, TCP (RFC 8656 §3.1, TURN over TCP to
// the server with a UDP relay) or TLS, times it, and when it fails says why
// in one word a support engineer can act on: timeout, refused, auth, tls,
// dns or error.
package turnprobe
