package sframe

import (
	"bytes"
	"testing"
)

// FuzzDecrypt feeds arbitrary bytes to the header parser and to Decrypt,
// as a receiver gets them from the network: neither may panic; a header
// that parses re-encodes to the same KID and CTR; nothing decrypts
// without the key's tag (the seeds include real frames of both suites).
func FuzzDecrypt(f *testing.F) {
	for _, s := range []Suite{AES128GCMSHA256_128, AES128CTRHMACSHA256_80} {
		c, _ := NewContext(s)
		_ = c.AddKey(3, []byte("fuzz"))
		ct, _ := c.Encrypt(nil, 3, 300, []byte{0x10, 0x02, 0x00}, []byte("frame"))
		f.Add(uint16(s), []byte{0x10, 0x02, 0x00}, ct)
	}
	f.Add(uint16(1), []byte{}, []byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, suite uint16, meta, b []byte) {
		kid, ctr, n, err := ParseHeader(b)
		if err == nil {
			if n > len(b) {
				t.Fatalf("header length %d of %d bytes", n, len(b))
			}
			k2, c2, _, err := ParseHeader(AppendHeader(nil, kid, ctr))
			if err != nil || k2 != kid || c2 != ctr {
				t.Fatalf("kid %d ctr %d re-encoded to %d %d %v", kid, ctr, k2, c2, err)
			}
		}
		s := Suite(suite%5 + 1)
		c, _ := NewContext(s)
		_ = c.AddKey(3, []byte("fuzz"))
		pt, _, _, err := c.Decrypt(nil, meta, b)
		if err == nil && !(bytes.Equal(pt, []byte("frame")) && bytes.Equal(meta, []byte{0x10, 0x02, 0x00})) && s.Overhead() >= 8 {
			t.Fatalf("%v: %x decrypted to %q", s, b, pt)
		}
	})
}
