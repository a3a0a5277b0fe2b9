package verify

import (
	"encoding/binary"
)

// RTP is the clear part of one SRTP packet: the RTP header (RFC 3550
// section 5.1; SRTP encrypts only the payload, RFC 3711 section 3.1).
type RTP struct {
	SSRC      uint32
	Seq       uint16
	Timestamp uint32
	PT        uint8
	Marker    bool
	// Padding is the P bit: the packet ends in padding (RFC 3550 5.1).
	Padding bool
	// Body is what follows the header: the encrypted payload (with its
	// padding) and the SRTP authentication tag.
	Body int
	// Decrypted is true when the packet could be decrypted (the key log
	// was there); then Payload is the payload's length without padding
	// and, for a retransmission, without the original sequence number
	// OSN.
	Decrypted bool
	Payload   int
	OSN       uint16
	// ZeroPayload is true when the decrypted payload is all zero bytes.
	ZeroPayload bool
}

// RTCP is the clear part of one SRTCP packet: the first RTCP header and
// the sender's SSRC (RFC 3711 section 3.4 encrypts the rest).
type RTCP struct {
	// PT is the packet type of the first packet of the compound: 200 SR,
	// 201 RR, 205 transport feedback, 206 payload-specific feedback.
	PT uint8
	// FMT is the count/format field: with PT 205, 1 is a generic NACK
	// (RFC 4585 section 6.2.1) and 15 transport-wide feedback; with PT 206,
	// 1 is a PLI (RFC 4585 section 6.3.1) and 4 a FIR (RFC 5104).
	FMT    uint8
	Sender uint32
}

// demux sorts a UDP payload the way RFC 7983 section 7 says a WebRTC
// endpoint must: by its first byte. TURN ChannelData (RFC 8656 section
// 12.4) and Send/Data indications (section 11) are unwrapped first, so a
// relayed packet is counted like a direct one.
func demux(p []byte) (rtp *RTP, rtcp *RTCP, dtls []byte) {
	p = unwrapTURN(p)
	if len(p) == 0 {
		return nil, nil, nil
	}
	switch b := p[0]; {
	case b >= 20 && b <= 63:
		return nil, nil, p
	case b >= 128 && b <= 191:
		if len(p) < 8 {
			return nil, nil, nil
		}
		if pt := p[1] & 0x7f; pt >= 64 && pt <= 95 { // RTCP PT 192..223, RFC 5761 section 4
			return nil, &RTCP{PT: p[1], FMT: p[0] & 0x1f, Sender: binary.BigEndian.Uint32(p[4:])}, nil
		}
		return parseRTP(p), nil, nil
	}
	return nil, nil, nil
}

// parseRTP reads an RTP header, nil when p is too short for the header it
// announces.
func parseRTP(p []byte) *RTP {
	if len(p) < 12 || p[0]>>6 != 2 {
		return nil
	}
	n := 12 + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 { // header extension, RFC 3550 section 5.3.1
		if len(p) < n+4 {
			return nil
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(p[n+2:]))
	}
	if len(p) < n {
		return nil
	}
	return &RTP{
		SSRC:      binary.BigEndian.Uint32(p[8:]),
		Seq:       binary.BigEndian.Uint16(p[2:]),
		Timestamp: binary.BigEndian.Uint32(p[4:]),
		PT:        p[1] & 0x7f,
		Marker:    p[1]&0x80 != 0,
		Padding:   p[0]&0x20 != 0,
		Body:      len(p) - n,
	}
}

// unwrapTURN returns the application data inside a TURN ChannelData
// message or Send/Data indication, and p itself otherwise.
func unwrapTURN(p []byte) []byte {
	if len(p) >= 4 && p[0] >= 0x40 && p[0] <= 0x4f { // channel numbers 0x4000..0x4FFF
		n := int(binary.BigEndian.Uint16(p[2:]))
		if 4+n > len(p) {
			return nil
		}
		return p[4 : 4+n]
	}
	if len(p) < 20 || p[0]&0xc0 != 0 || binary.BigEndian.Uint32(p[4:]) != 0x2112a442 {
		return p
	}
	typ := binary.BigEndian.Uint16(p)
	if typ != 0x0016 && typ != 0x0017 { // Send and Data indications
		return p
	}
	attrs := p[20:]
	if n := int(binary.BigEndian.Uint16(p[2:])); n <= len(attrs) {
		attrs = attrs[:n]
	}
	for len(attrs) >= 4 {
		t, n := binary.BigEndian.Uint16(attrs), int(binary.BigEndian.Uint16(attrs[2:]))
		if 4+n > len(attrs) {
			return nil
		}
		if t == 0x0013 { // DATA
			return attrs[4 : 4+n]
		}
		attrs = attrs[4+(n+3)&^3:]
	}
	return nil
}

// SRTP protection profiles (RFC 5764 section 4.1.2, RFC 7714 section
// 14.2) and their authentication tag lengths in bytes.
var srtpTagLen = map[uint16]int{
	0x0001: 10, // SRTP_AES128_CM_HMAC_SHA1_80
	0x0002: 4,  // SRTP_AES128_CM_HMAC_SHA1_32
	0x0007: 16, // SRTP_AEAD_AES_128_GCM
	0x0008: 16, // SRTP_AEAD_AES_256_GCM
}

// useSRTP reads a ServerHello body (RFC 5246 section 7.4.1.3) up to its
// use_srtp extension.
func useSRTP(m []byte) (uint16, bool) {
	if len(m) < 35 {
		return 0, false
	}
	i := 34 + 1 + int(m[34]) + 2 + 1 // version, random, session id, cipher suite, compression
	if i+2 > len(m) {
		return 0, false
	}
	ext := m[i+2:]
	if n := int(binary.BigEndian.Uint16(m[i:])); n <= len(ext) {
		ext = ext[:n]
	}
	for len(ext) >= 4 {
		t, n := binary.BigEndian.Uint16(ext), int(binary.BigEndian.Uint16(ext[2:]))
		if 4+n > len(ext) {
			return 0, false
		}
		if t == 14 && n >= 4 { // use_srtp: profiles length, one profile
			return binary.BigEndian.Uint16(ext[6:]), true
		}
		ext = ext[4+n:]
	}
	return 0, false
}
