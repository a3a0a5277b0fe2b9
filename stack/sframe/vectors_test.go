package sframe

import (
	"bufio"
	"bytes"
	"crypto/hkdf"
	"encoding/binary"
	"encoding/hex"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// vector is one test vector of RFC 9605 Appendix C: its fields as the
// RFC writes them (hex, numbers prefixed 0x).
type vector map[string]string

func (v vector) bytes(t *testing.T, f string) []byte {
	t.Helper()
	s, ok := v[f]
	if !ok {
		t.Fatalf("vector %v has no %s", v, f)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	return b
}

func (v vector) num(t *testing.T, f string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.TrimPrefix(v[f], "0x"), 16, 64)
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	return n
}

var (
	fieldRE   = regexp.MustCompile(`^   ([a-z_]+): (0x[0-9a-f]+|[0-9a-f]+)$`)
	contRE    = regexp.MustCompile(`^ {5,}([0-9a-f]+)$`)
	sectionRE = regexp.MustCompile(`^(C\.[0-9])\.  `)
)

// appendixC reads testdata/rfc9605-appendix-c.txt into its sections'
// vectors ("C.1", "C.2", "C.3").
func appendixC(t *testing.T) map[string][]vector {
	t.Helper()
	data, err := os.ReadFile("testdata/rfc9605-appendix-c.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]vector{}
	section, last := "", ""
	var cur vector
	flush := func() {
		if len(cur) > 0 {
			out[section] = append(out[section], cur)
		}
		cur, last = nil, ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := sc.Text()
		switch m := sectionRE.FindStringSubmatch(l); {
		case m != nil:
			flush()
			section = m[1]
		case strings.TrimSpace(l) == "":
			flush()
		default:
			if f := fieldRE.FindStringSubmatch(l); f != nil {
				if cur == nil {
					cur = vector{}
				}
				cur[f[1]], last = f[2], f[1]
			} else if c := contRE.FindStringSubmatch(l); c != nil && last != "" {
				cur[last] += c[1]
			}
		}
	}
	flush()
	return out
}

func TestVectorsCount(t *testing.T) {
	v := appendixC(t)
	if len(v["C.1"]) != 289 || len(v["C.2"]) != 3 || len(v["C.3"]) != 5 {
		t.Fatalf("read %d header, %d AEAD, %d SFrame vectors; RFC 9605 has 289, 3, 5", len(v["C.1"]), len(v["C.2"]), len(v["C.3"]))
	}
}

// C.1: encoding KID and CTR gives the header; decoding gives them back.
func TestHeaderVectors(t *testing.T) {
	for _, v := range appendixC(t)["C.1"] {
		kid, ctr, want := v.num(t, "kid"), v.num(t, "ctr"), v.bytes(t, "header")
		if got := AppendHeader(nil, kid, ctr); !bytes.Equal(got, want) {
			t.Errorf("kid %#x ctr %#x: header %x, want %x", kid, ctr, got, want)
		}
		k, c, n, err := ParseHeader(append(want, 0xee)) // a byte of ciphertext after it
		if err != nil || k != kid || c != ctr || n != len(want) {
			t.Errorf("parse %x: kid %#x ctr %#x len %d %v", want, k, c, n, err)
		}
		if _, _, _, err := ParseHeader(want[:len(want)-1]); len(want) > 1 && err == nil {
			t.Errorf("parse of truncated %x succeeded", want)
		}
	}
}

// C.2: the AES-CTR and HMAC AEAD of section 4.5.1.
func TestAEADVectors(t *testing.T) {
	for _, v := range appendixC(t)["C.2"] {
		s := Suite(v.num(t, "cipher_suite"))
		aead, err := s.NewAEAD(v.bytes(t, "key"))
		if err != nil {
			t.Fatal(err)
		}
		nonce, aad, pt, ct := v.bytes(t, "nonce"), v.bytes(t, "aad"), v.bytes(t, "pt"), v.bytes(t, "ct")
		if got := aead.Seal(nil, nonce, pt, aad); !bytes.Equal(got, ct) {
			t.Errorf("%v: encrypt %x, want %x", s, got, ct)
		}
		if got, err := aead.Open(nil, nonce, ct, aad); err != nil || !bytes.Equal(got, pt) {
			t.Errorf("%v: decrypt %x %v, want %x", s, got, err, pt)
		}
		bad := append([]byte(nil), ct...)
		bad[len(bad)-1] ^= 1
		if _, err := aead.Open(nil, nonce, bad, aad); err == nil {
			t.Errorf("%v: a flipped tag bit decrypted", s)
		}
	}
}

// C.3: key derivation and SFrame encryption and decryption, every
// suite. The RFC's sframe_secret of suite 0x0005 repeats a line (80
// bytes for a 64-byte SHA-512 output); that intermediate value is
// checked where its length is the hash's.
func TestSFrameVectors(t *testing.T) {
	for _, v := range appendixC(t)["C.3"] {
		s := Suite(v.num(t, "cipher_suite"))
		kid, ctr := v.num(t, "kid"), v.num(t, "ctr")
		base, meta, pt, ct := v.bytes(t, "base_key"), v.bytes(t, "metadata"), v.bytes(t, "pt"), v.bytes(t, "ct")
		key, salt, err := DeriveKeySalt(s, kid, base)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(key, v.bytes(t, "sframe_key")) || !bytes.Equal(salt, v.bytes(t, "sframe_salt")) {
			t.Errorf("%v: key %x salt %x, want %s %s", s, key, salt, v["sframe_key"], v["sframe_salt"])
		}
		var tail [10]byte
		binary.BigEndian.PutUint64(tail[:], kid)
		binary.BigEndian.PutUint16(tail[8:], uint16(s))
		for f, prefix := range map[string]string{"sframe_key_label": "SFrame 1.0 Secret key ", "sframe_salt_label": "SFrame 1.0 Secret salt "} {
			if want := append([]byte(prefix), tail[:]...); !bytes.Equal(v.bytes(t, f), want) {
				t.Errorf("%v: %s %s, want %x", s, f, v[f], want)
			}
		}
		if secret := v.bytes(t, "sframe_secret"); len(secret) == suites[s].nh {
			if got, _ := hkdf.Extract(suites[s].hash, base, nil); !bytes.Equal(got, secret) {
				t.Errorf("%v: sframe_secret %x, want %x", s, got, secret)
			}
		} else if s != AES256GCMSHA512_128 {
			t.Errorf("%v: sframe_secret of %d bytes", s, len(secret))
		}
		c, err := NewContext(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddKey(kid, base); err != nil {
			t.Fatal(err)
		}
		if got := c.makeNonce(c.keys[kid], ctr); !bytes.Equal(got, v.bytes(t, "nonce")) {
			t.Errorf("%v: nonce %x, want %s", s, got, v["nonce"])
		}
		got, err := c.Encrypt(nil, kid, ctr, meta, pt)
		if err != nil || !bytes.Equal(got, ct) {
			t.Errorf("%v: encrypt %x %v, want %x", s, got, err, ct)
		}
		if hdr := AppendHeader(nil, kid, ctr); !bytes.Equal(append(hdr, meta...), v.bytes(t, "aad")) {
			t.Errorf("%v: aad %x, want %s", s, append(hdr, meta...), v["aad"])
		}
		out, k, n, err := c.Decrypt(nil, meta, ct)
		if err != nil || !bytes.Equal(out, pt) || k != kid || n != ctr {
			t.Errorf("%v: decrypt %x kid %#x ctr %#x %v, want %x", s, out, k, n, err, pt)
		}
		if _, _, _, err := c.Decrypt(nil, meta, ct); err != ErrReplay {
			t.Errorf("%v: the same frame twice: %v, want ErrReplay", s, err)
		}
	}
}
