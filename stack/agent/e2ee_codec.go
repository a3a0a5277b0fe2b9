package agent

// What each codec keeps in clear, and why: the bytes the sender's pion
// packetizer and the SFU read, no more.
//
//   - VP8 (RFC 6386 section 9.1): a key frame's 10-byte header (frame
//     tag, start code, size), a delta frame's 3-byte frame tag, as the
//     WebRTC encoded-transform samples leave them; pion's VP8 payloader
//     reads nothing of the frame, the SFU reads the key frame bit.
//   - VP9: pion's payloader (non-flexible mode) parses the uncompressed
//     header (VP9 bitstream specification section 6.2) to set the
//     payload descriptor's P bit and, on key frames, the scalability
//     structure's size; a frame it cannot parse is not sent at all. It
//     reads at most 73 bits of a key frame (frame marker, profile,
//     flags, sync code, colour config, frame size) and 9 of any other,
//     so a key frame keeps 10 bytes and any other 2; the SFU reads the
//     descriptor the payloader writes.
//   - H.264: pion's payloader splits a frame on Annex B start codes
//     (ITU-T H.264 section B.2), drops AUD and filler NAL units and
//     aggregates SPS and PPS; the SFU reads the NAL unit type (IDR, SPS).
//     So every NAL unit before the first slice (SPS, PPS, SEI) and the
//     slice's one-byte NAL header stay in clear, and the rest — the
//     slice header and data and any later NAL unit — is the SFrame
//     ciphertext, escaped as the standard escapes a NAL unit's payload
//     (section 7.4.1: 0x03 after two zero bytes before a byte of 0..3),
//     so that no start code appears in it and the packetizer keeps it in
//     one NAL unit; the receiver removes the escapes before decrypting.
//     The clips' start codes are 4 bytes and carry no AUD (package
//     clip), as pion's depacketizer rebuilds them, so the clear bytes
//     arrive as they were sent.
//   - Opus (RFC 6716 section 3.1): the TOC byte.
//
// AV1 is not supported: pion's payloader parses every OBU's header and
// size (AV1 RTP specification section 4) and drops temporal delimiters,
// and its depacketizer rewrites the size fields, so the clear bytes
// would have to be OBU headers rebuilt in a canonical form on both
// sides; rtclab does not do that.

// h264Clear is the length of an Annex B access unit's clear part: up to
// and including the NAL header of its first slice (nal_unit_type 1 to
// 5, ITU-T H.264 table 7-1); ok is false when it has no slice.
func h264Clear(frame []byte) (n int, ok bool) {
	for i := 0; i+3 < len(frame); i++ {
		if frame[i] == 0 && frame[i+1] == 0 && frame[i+2] == 1 {
			if t := frame[i+3] & 0x1f; t >= 1 && t <= 5 {
				return i + 4, true
			}
			i += 2
		}
	}
	return 0, false
}

// appendEscaped appends b to dst with emulation prevention (ITU-T H.264
// section 7.4.1): after two zero bytes, a byte of 0..3 is preceded by
// 0x03, so no start code (00 00 01) and no 00 00 00 appears.
func appendEscaped(dst, b []byte) []byte {
	zeros := 0
	for _, x := range b {
		if zeros >= 2 && x <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, x)
		if x == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}

// unescape removes the bytes appendEscaped added: a 0x03 after two zero
// bytes.
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, x := range b {
		if zeros >= 2 && x == 3 {
			zeros = 0
			continue
		}
		out = append(out, x)
		if x == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}
