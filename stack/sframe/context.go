package sframe

import (
	"crypto/cipher"
	"crypto/hkdf"
	"encoding/binary"
	"fmt"
)

// Context holds the keys of one SFrame session (RFC 9605 section 4.4.1):
// per KID, the AEAD keyed with sframe_key, the sframe_salt, and a replay
// window. A Context is not safe for concurrent use.
type Context struct {
	suite Suite
	keys  map[uint64]*kidKey
	nonce [nn]byte
}

type kidKey struct {
	aead   cipher.AEAD
	salt   [nn]byte
	replay window
}

// NewContext returns an empty context for suite.
func NewContext(suite Suite) (*Context, error) {
	if _, ok := suites[suite]; !ok {
		return nil, fmt.Errorf("%w: %v", ErrSuite, suite)
	}
	return &Context{suite: suite, keys: map[uint64]*kidKey{}}, nil
}

// Suite returns the context's cipher suite.
func (c *Context) Suite() Suite { return c.suite }

// DeriveKeySalt is derive_key_salt of RFC 9605 section 4.4.2: HKDF with
// the suite's hash, an empty salt, and the labels "SFrame 1.0 Secret
// key " and "SFrame 1.0 Secret salt " followed by the KID (8 bytes) and
// the cipher suite (2 bytes), big-endian.
func DeriveKeySalt(suite Suite, kid uint64, baseKey []byte) (key, salt []byte, err error) {
	p, ok := suites[suite]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %v", ErrSuite, suite)
	}
	secret, err := hkdf.Extract(p.hash, baseKey, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("sframe: %w", err)
	}
	var tail [10]byte
	binary.BigEndian.PutUint64(tail[:], kid)
	binary.BigEndian.PutUint16(tail[8:], uint16(suite))
	if key, err = hkdf.Expand(p.hash, secret, "SFrame 1.0 Secret key "+string(tail[:]), p.nk); err != nil {
		return nil, nil, fmt.Errorf("sframe: %w", err)
	}
	if salt, err = hkdf.Expand(p.hash, secret, "SFrame 1.0 Secret salt "+string(tail[:]), nn); err != nil {
		return nil, nil, fmt.Errorf("sframe: %w", err)
	}
	return key, salt, nil
}

// AddKey stores baseKey for kid, replacing a key it held (and its replay
// window).
func (c *Context) AddKey(kid uint64, baseKey []byte) error {
	key, salt, err := DeriveKeySalt(c.suite, kid, baseKey)
	if err != nil {
		return err
	}
	aead, err := c.suite.NewAEAD(key)
	if err != nil {
		return err
	}
	k := &kidKey{aead: aead}
	copy(k.salt[:], salt)
	c.keys[kid] = k
	return nil
}

// HasKey reports whether the context holds a key for kid.
func (c *Context) HasKey(kid uint64) bool { return c.keys[kid] != nil }

// makeNonce XORs the salt with CTR encoded big-endian in Nn bytes
// (section 4.4.3).
func (c *Context) makeNonce(k *kidKey, ctr uint64) []byte {
	c.nonce = k.salt
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ctr)
	for i := range b {
		c.nonce[nn-8+i] ^= b[i]
	}
	return c.nonce[:]
}

// Encrypt appends to dst the SFrame ciphertext of plaintext (header,
// then AEAD ciphertext and tag) with the key of kid and counter ctr; the
// header and metadata are the AAD (section 4.4.3). The caller must never
// use one (kid, ctr) twice.
func (c *Context) Encrypt(dst []byte, kid, ctr uint64, metadata, plaintext []byte) ([]byte, error) {
	k := c.keys[kid]
	if k == nil {
		return nil, fmt.Errorf("%w %d", ErrUnknownKID, kid)
	}
	n := len(dst)
	dst = AppendHeader(dst, kid, ctr)
	return k.aead.Seal(dst, c.makeNonce(k, ctr), plaintext, c.aad(dst[n:], metadata)), nil
}

// aad is header + metadata; short ones are built without allocating.
func (c *Context) aad(header, metadata []byte) []byte {
	if len(metadata) == 0 {
		return header
	}
	return append(append(make([]byte, 0, len(header)+len(metadata)), header...), metadata...)
}

// Decrypt appends to dst the plaintext of an SFrame ciphertext whose
// metadata was metadata (section 4.4.4). A frame whose tag does not
// verify is ErrAuth; one whose KID and CTR were accepted before, or that
// lies behind the replay window, is ErrReplay. It returns the KID and
// CTR read from the header too.
func (c *Context) Decrypt(dst, metadata, ciphertext []byte) (out []byte, kid, ctr uint64, err error) {
	kid, ctr, hlen, err := ParseHeader(ciphertext)
	if err != nil {
		return nil, 0, 0, err
	}
	k := c.keys[kid]
	if k == nil {
		return nil, kid, ctr, fmt.Errorf("%w %d", ErrUnknownKID, kid)
	}
	if !k.replay.fresh(ctr) {
		return nil, kid, ctr, ErrReplay
	}
	out, err = k.aead.Open(dst, c.makeNonce(k, ctr), ciphertext[hlen:], c.aad(ciphertext[:hlen], metadata))
	if err != nil {
		return nil, kid, ctr, ErrAuth
	}
	k.replay.accept(ctr) // only an authentic frame moves the window
	return out, kid, ctr, nil
}
