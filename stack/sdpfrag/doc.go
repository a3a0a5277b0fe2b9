// Package sdpfrag reads and writes SDP fragments of the media type
// application/trickle-ice-sdpfrag (RFC 8840 section 9): the body of a
// WHIP or WHEP HTTP PATCH (RFC 9725 section 4.3.1) that trickles ICE
// candidates or restarts ICE, and of the server's answer to a restart.
//
// A fragment holds ICE attributes only: session-level ice-ufrag, ice-pwd
// and ice-options (RFC 8839 section 5.4), the BUNDLE group, and per
// "m=" line its mid, candidates and end-of-candidates (RFC 8840 section
// 8.2). Parse refuses anything else, naming the line.
package sdpfrag
