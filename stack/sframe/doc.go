// Package sframe implements Secure Frame (SFrame, RFC 9605): end-to-end
// authenticated encryption of whole media frames, so that a media server
// in the middle (an SFU) forwards frames it cannot read.
//
// It provides the SFrame header (KID and CTR, section 4.3), the key and
// salt derivation with HKDF (section 4.4.2), the five cipher suites of
// section 4.5 (AES-CTR with a truncated HMAC-SHA256 tag, section 4.5.1,
// and AES-GCM) and a Context that encrypts with one KID and decrypts
// with any KID it holds a key for (sections 4.4.3 and 4.4.4), rejecting
// a frame it already accepted with a sliding replay window (section
// 9.3) that tolerates frames arriving out of order.
//
// It knows nothing of RTP or codecs: which bytes of a frame stay in the
// clear for the SFU is the caller's choice (passed as metadata, which
// SFrame authenticates). The test vectors of RFC 9605 Appendix C are in
// testdata.
package sframe
