// Package diagnose is `rtclab diagnose` and the server side of it, `rtclab
// serve`: a support engineer's network check from a customer's machine
// against a STUN/TURN server and a test peer.
//
// The diagnosis is a Plan (pure data: which servers, which paths, how long
// each measurement lasts) run by Run within one overall timeout, each probe
// set under its own context: NAT behaviour (RFC 5780) and TURN allocations
// first, in parallel; then the ICE paths to the test peer; then RTT, jitter
// and loss over the best path and the relay; then bandwidth up and down.
// The Result is plain data with a versioned JSON schema (Schema) that the
// text, JSON and HTML renderers all print from; its bands, MOS and findings
// come from the tables in bands.go, mos.go and video.go, each citing its
// source.
package diagnose
