// Package seqnum extends RTP's wrapping counters — 16-bit sequence numbers
// and 32-bit timestamps (RFC 3550 section 5.1) — to 64-bit numbers that
// never wrap, so that packets can be ordered and compared with < and ==.
//
// A 16-bit number says where a packet is only relative to a nearby one:
// RFC 1982 serial arithmetic puts b after a when b-a (mod 2^16) is below
// 2^15. Comparing against a reference that stops moving (where a layer
// started, the first packet of a call) therefore flips after 32,768
// packets, and every packet from then on looks "before" it. An Unwrapper
// judges each number against the highest one seen so far (RFC 3550
// appendix A.1), which moves with the stream, and hands out extended
// numbers that can be compared against any reference for ever.
//
// Every package of rtclab that orders sequence numbers or timestamps uses
// this one: the SFU's munger, the agents' loss counting and frame
// assembly, the flows' sequence logs, the NACK generator and analysis' arrival
// and send logs.
package seqnum
