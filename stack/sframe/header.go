package sframe

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// AppendHeader appends the SFrame header for kid and ctr (RFC 9605
// section 4.3): a config byte X|K|Y|C, where a value below 8 sits in K
// or C and a larger one follows in the fewest big-endian bytes, its
// length minus one in K or C, the KID before the CTR.
func AppendHeader(dst []byte, kid, ctr uint64) []byte {
	cfg := byte(0)
	klen, clen := 0, 0
	if kid < 8 {
		cfg |= byte(kid) << 4
	} else {
		klen = minLen(kid)
		cfg |= 0x80 | byte(klen-1)<<4
	}
	if ctr < 8 {
		cfg |= byte(ctr)
	} else {
		clen = minLen(ctr)
		cfg |= 0x08 | byte(clen-1)
	}
	dst = append(dst, cfg)
	dst = appendBE(dst, kid, klen)
	return appendBE(dst, ctr, clen)
}

func minLen(v uint64) int { return max(1, (bits.Len64(v)+7)/8) }

func appendBE(dst []byte, v uint64, n int) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return append(dst, b[8-n:]...)
}

// ParseHeader reads the SFrame header at the start of b and returns its
// KID, CTR and length in bytes.
func ParseHeader(b []byte) (kid, ctr uint64, n int, err error) {
	if len(b) < 1 {
		return 0, 0, 0, ErrHeader
	}
	cfg := b[0]
	n = 1
	kid, ctr = uint64(cfg>>4&0x07), uint64(cfg&0x07)
	if cfg&0x80 != 0 {
		if kid, n, err = readBE(b, n, int(cfg>>4&0x07)+1); err != nil {
			return 0, 0, 0, err
		}
	}
	if cfg&0x08 != 0 {
		if ctr, n, err = readBE(b, n, int(cfg&0x07)+1); err != nil {
			return 0, 0, 0, err
		}
	}
	return kid, ctr, n, nil
}

func readBE(b []byte, at, n int) (uint64, int, error) {
	if len(b) < at+n {
		return 0, 0, fmt.Errorf("%w: %d bytes, want %d", ErrHeader, len(b), at+n)
	}
	var v uint64
	for _, c := range b[at : at+n] {
		v = v<<8 | uint64(c)
	}
	return v, at + n, nil
}
