package sframe

import (
	"bytes"
	"errors"
	"testing"
)

func newCtx(t *testing.T, s Suite, kid uint64, key string) *Context {
	t.Helper()
	c, err := NewContext(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddKey(kid, []byte(key)); err != nil {
		t.Fatal(err)
	}
	return c
}

// Frames arriving out of order inside the window decrypt; a repeat, a
// frame too far behind, a wrong key, changed metadata or an unknown KID
// do not.
func TestDecrypt(t *testing.T) {
	for _, s := range []Suite{AES128GCMSHA256_128, AES128CTRHMACSHA256_80} {
		tx := newCtx(t, s, 9, "room secret")
		frame := func(ctr uint64, meta string) []byte {
			ct, err := tx.Encrypt(nil, 9, ctr, []byte(meta), []byte("a frame"))
			if err != nil {
				t.Fatal(err)
			}
			return ct
		}
		cases := []struct {
			name string
			rx   *Context
			ctr  uint64
			meta string
			ct   []byte
			want error
		}{
			{name: "first", ctr: 5},
			{name: "earlier, in window", ctr: 2},
			{name: "the same again", ctr: 2, want: ErrReplay},
			{name: "jump ahead", ctr: 5 + windowSize},
			{name: "in window below new top", ctr: 6 + windowSize/2},
			{name: "behind window", ctr: 5, want: ErrReplay},
			{name: "top again", ctr: 5 + windowSize, want: ErrReplay},
			{name: "metadata changed", ctr: 7 + windowSize, meta: "x", ct: frame(7+windowSize, "y"), want: ErrAuth},
			{name: "not consumed by forgery", ctr: 7 + windowSize},
			{name: "wrong key", rx: newCtx(t, s, 9, "another secret"), ctr: 1, want: ErrAuth},
			{name: "unknown kid", rx: newCtx(t, s, 8, "room secret"), ctr: 1, want: ErrUnknownKID},
		}
		rx := newCtx(t, s, 9, "room secret")
		for _, c := range cases {
			r := rx
			if c.rx != nil {
				r = c.rx
			}
			ct := c.ct
			if ct == nil {
				ct = frame(c.ctr, c.meta)
			}
			pt, kid, ctr, err := r.Decrypt(nil, []byte(c.meta), ct)
			if !errors.Is(err, c.want) {
				t.Errorf("%v %s: %v, want %v", s, c.name, err, c.want)
			}
			if c.want == nil && (!bytes.Equal(pt, []byte("a frame")) || kid != 9 || ctr != c.ctr) {
				t.Errorf("%v %s: %q kid %d ctr %d", s, c.name, pt, kid, ctr)
			}
		}
	}
}

func TestSuiteErrors(t *testing.T) {
	if _, err := NewContext(0x99); !errors.Is(err, ErrSuite) {
		t.Errorf("suite 0x99: %v", err)
	}
	if _, err := AES128GCMSHA256_128.NewAEAD(make([]byte, 15)); !errors.Is(err, ErrSuite) {
		t.Errorf("15-byte key: %v", err)
	}
	if got := Suite(1).String(); got != "AES_128_CTR_HMAC_SHA256_80" {
		t.Errorf("name %s", got)
	}
	c := newCtx(t, AES128GCMSHA256_128, 1, "k")
	if _, err := c.Encrypt(nil, 2, 0, nil, nil); !errors.Is(err, ErrUnknownKID) {
		t.Errorf("encrypt with no key: %v", err)
	}
	if _, _, _, err := c.Decrypt(nil, nil, nil); !errors.Is(err, ErrHeader) {
		t.Errorf("empty: %v", err)
	}
}
