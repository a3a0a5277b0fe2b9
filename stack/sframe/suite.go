package sframe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
)

// Suite is an SFrame cipher suite, by its IANA number (RFC 9605 section
// 8.1).
type Suite uint16

// The cipher suites of RFC 9605 section 4.5.
const (
	AES128CTRHMACSHA256_80 Suite = 0x0001
	AES128CTRHMACSHA256_64 Suite = 0x0002
	AES128CTRHMACSHA256_32 Suite = 0x0003
	AES128GCMSHA256_128    Suite = 0x0004
	AES256GCMSHA512_128    Suite = 0x0005
)

// suiteParams are the constants of section 4.5, Table 1.
type suiteParams struct {
	name            string
	nh, nka, nk, nt int // Nn is 12 for every suite
	hash            func() hash.Hash
}

const nn = 12

var suites = map[Suite]suiteParams{
	AES128CTRHMACSHA256_80: {"AES_128_CTR_HMAC_SHA256_80", 32, 16, 48, 10, sha256.New},
	AES128CTRHMACSHA256_64: {"AES_128_CTR_HMAC_SHA256_64", 32, 16, 48, 8, sha256.New},
	AES128CTRHMACSHA256_32: {"AES_128_CTR_HMAC_SHA256_32", 32, 16, 48, 4, sha256.New},
	AES128GCMSHA256_128:    {"AES_128_GCM_SHA256_128", 32, 0, 16, 16, sha256.New},
	AES256GCMSHA512_128:    {"AES_256_GCM_SHA512_128", 64, 0, 32, 16, sha512.New},
}

// String is the suite's name in RFC 9605.
func (s Suite) String() string {
	if p, ok := suites[s]; ok {
		return p.name
	}
	return fmt.Sprintf("Suite(0x%04x)", uint16(s))
}

// Overhead is the tag size Nt in bytes: how much longer a ciphertext is
// than its plaintext, besides the header.
func (s Suite) Overhead() int { return suites[s].nt }

// Suites lists the supported suites in IANA order.
func Suites() []Suite {
	return []Suite{AES128CTRHMACSHA256_80, AES128CTRHMACSHA256_64, AES128CTRHMACSHA256_32, AES128GCMSHA256_128, AES256GCMSHA512_128}
}

// NewAEAD returns the suite's AEAD for a key of Nk bytes: AES-GCM, or the
// AES-CTR and HMAC construction of section 4.5.1.
func (s Suite) NewAEAD(key []byte) (cipher.AEAD, error) {
	p, ok := suites[s]
	if !ok || len(key) != p.nk {
		return nil, fmt.Errorf("%w: %v with a %d-byte key", ErrSuite, s, len(key))
	}
	if p.nka == 0 {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("sframe: %w", err)
		}
		return cipher.NewGCM(block)
	}
	// derive_subkeys: the first Nka bytes encrypt, the Nh others
	// authenticate.
	block, err := aes.NewCipher(key[:p.nka])
	if err != nil {
		return nil, fmt.Errorf("sframe: %w", err)
	}
	return &ctrHMAC{block: block, authKey: append([]byte(nil), key[p.nka:]...), nt: p.nt, hash: p.hash}, nil
}

// ctrHMAC is the AEAD of RFC 9605 section 4.5.1: AES-CTR from the nonce
// followed by four zero bytes, then a truncated HMAC over the lengths,
// the nonce, the AAD and the ciphertext (encrypt-then-MAC).
type ctrHMAC struct {
	block   cipher.Block
	authKey []byte
	nt      int
	hash    func() hash.Hash
}

func (c *ctrHMAC) NonceSize() int { return nn }
func (c *ctrHMAC) Overhead() int  { return c.nt }

func (c *ctrHMAC) xor(dst, nonce, src []byte) {
	var iv [aes.BlockSize]byte
	copy(iv[:], nonce)
	cipher.NewCTR(c.block, iv[:]).XORKeyStream(dst, src)
}

// tag is compute_tag of section 4.5.1.
func (c *ctrHMAC) tag(nonce, aad, ct []byte) []byte {
	m := hmac.New(c.hash, c.authKey)
	var lens [24]byte
	binary.BigEndian.PutUint64(lens[0:], uint64(len(aad)))
	binary.BigEndian.PutUint64(lens[8:], uint64(len(ct)))
	binary.BigEndian.PutUint64(lens[16:], uint64(c.nt))
	m.Write(lens[:])
	m.Write(nonce)
	m.Write(aad)
	m.Write(ct)
	return m.Sum(nil)[:c.nt]
}

func (c *ctrHMAC) Seal(dst, nonce, plaintext, aad []byte) []byte {
	n := len(dst) // nonce is NonceSize bytes: Context always makes it so
	dst = append(dst, make([]byte, len(plaintext))...)
	c.xor(dst[n:], nonce, plaintext)
	return append(dst, c.tag(nonce, aad, dst[n:])...)
}

func (c *ctrHMAC) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != nn || len(ciphertext) < c.nt {
		return nil, ErrAuth
	}
	ct, tag := ciphertext[:len(ciphertext)-c.nt], ciphertext[len(ciphertext)-c.nt:]
	if subtle.ConstantTimeCompare(tag, c.tag(nonce, aad, ct)) != 1 {
		return nil, ErrAuth
	}
	n := len(dst)
	dst = append(dst, make([]byte, len(ct))...)
	c.xor(dst[n:], nonce, ct)
	return dst, nil
}
