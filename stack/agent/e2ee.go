package agent

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/sframe"
)

// E2EE is end-to-end encryption of media frames with SFrame (RFC 9605),
// applied as browsers' encoded transforms do: each encoded frame is
// encrypted before packetization and decrypted after reassembly, so the
// SFU forwards frames it cannot read. The bytes ClearBytes names stay in
// the clear (authenticated as SFrame metadata, section 4.4.3).
type E2EE struct {
	// Secret is shared by everyone in the call who can decrypt (a
	// participant with another secret cannot).
	Secret []byte
	// KID is the SFrame key ID this agent encrypts with. Each sender's
	// base key is derived from Secret and its KID (SenderKey), so no two
	// senders with distinct KIDs share a key (section 4.4.1).
	KID uint64
	// Suite is the cipher suite; zero means AES_128_GCM_SHA256_128.
	Suite sframe.Suite
	// Keys, when set, replaces Secret and KID with a key schedule: the
	// agent sends with the key whose From is the latest not after the
	// frame's time (RFC 9605 section 4.4: the sender picks the KID of its
	// current key and writes it in the header), and opens only frames
	// whose KID one of Keys has — a receiver that lacks a key gets no
	// frame from the moment a sender starts using it. Each key's base
	// key is SenderKey(Secret, KID), as without Keys.
	Keys []Key
	// CTRBase is where the agent's frame counter starts. Senders that
	// share a key (the same Keys) are given disjoint ranges, so no (KID,
	// CTR) pair, and so no nonce, is used twice (section 4.4.3).
	CTRBase uint64
}

// Key is one key of an E2EE schedule.
type Key struct {
	// KID is the SFrame key ID.
	KID uint64
	// Secret is the shared passphrase the base key is derived from.
	Secret []byte
	// From is when the agent starts sending with it (zero: from the
	// start).
	From time.Time
}

func (e *E2EE) suite() sframe.Suite {
	if e.Suite == 0 {
		return sframe.AES128GCMSHA256_128
	}
	return e.Suite
}

// SenderKey is the SFrame base_key of the sender with key ID kid:
// HKDF-SHA256 with the salt "rtclab e2ee", the input keying material
// secret, and the info "rtclab sframe sender" + kid (8 bytes,
// big-endian), 32 bytes. A passphrase is used as it is, without key
// stretching: this is a lab, not a password store.
func SenderKey(secret []byte, kid uint64) ([]byte, error) {
	prk, err := hkdf.Extract(sha256.New, secret, []byte("rtclab e2ee"))
	if err != nil {
		return nil, fmt.Errorf("e2ee key: %w", err)
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], kid)
	key, err := hkdf.Expand(sha256.New, prk, "rtclab sframe sender"+string(b[:]), 32)
	if err != nil {
		return nil, fmt.Errorf("e2ee key: %w", err)
	}
	return key, nil
}

// ClearBytes is how many leading bytes of an encoded frame stay in the
// clear (e2ee_codec.go says which and why): VP8 a key frame's 10 bytes
// and a delta frame's 3 (RFC 6386 section 9.1), VP9 a key frame's 10 and
// another's 2, H.264 everything up to and including the first slice's
// NAL header, Opus the TOC byte (RFC 6716 section 3.1). Other codecs
// leave nothing in the clear.
func ClearBytes(mimeType string, frame []byte) int {
	n := 0
	switch strings.ToLower(mimeType) {
	case "video/vp8":
		n = 3
		if len(frame) > 0 && frame[0]&0x01 == 0 { // P = 0: key frame
			n = 10
		}
	case "video/vp9":
		n = 2
		if clip.IsKeyframe(mimeType, frame) {
			n = 10
		}
	case "video/h264":
		n, _ = h264Clear(frame)
	case "audio/opus":
		n = 1
	}
	return min(n, len(frame))
}

// keys is the schedule: Keys, or the one key of Secret and KID.
func (e *E2EE) keys() []Key {
	if len(e.Keys) > 0 {
		return e.Keys
	}
	return []Key{{KID: e.KID, Secret: e.Secret}}
}

// addKeys derives and stores every key of ks in ctx.
func addKeys(ctx *sframe.Context, ks []Key) error {
	for _, k := range ks {
		base, err := SenderKey(k.Secret, k.KID)
		if err != nil {
			return err
		}
		if err := ctx.AddKey(k.KID, base); err != nil {
			return fmt.Errorf("e2ee: %w", err)
		}
	}
	return nil
}

// sealer encrypts every frame the agent sends, on every connection and
// track, with the current key of its schedule and one counter, so no
// (KID, CTR) repeats.
type sealer struct {
	mu    sync.Mutex
	ctx   *sframe.Context
	sched []Key // by From
	ctr   uint64
}

func newSealer(e *E2EE) (*sealer, error) {
	ctx, err := sframe.NewContext(e.suite())
	if err != nil {
		return nil, err
	}
	sched := slices.Clone(e.keys())
	slices.SortStableFunc(sched, func(a, b Key) int { return a.From.Compare(b.From) })
	if err := addKeys(ctx, sched); err != nil {
		return nil, err
	}
	return &sealer{ctx: ctx, sched: sched, ctr: e.CTRBase}, nil
}

// kidAt is the KID of the key in use at now: the last one whose From
// is not after now, or the first.
func (s *sealer) kidAt(now time.Time) uint64 {
	kid := s.sched[0].KID
	for _, k := range s.sched[1:] {
		if k.From.After(now) {
			break
		}
		kid = k.KID
	}
	return kid
}

// seal returns the frame with its clear bytes, then the SFrame
// ciphertext of the rest.
func (s *sealer) seal(mimeType string, frame []byte) ([]byte, error) {
	h264 := strings.EqualFold(mimeType, "video/h264")
	if _, ok := h264Clear(frame); h264 && !ok {
		return nil, fmt.Errorf("e2ee: an H.264 frame without a slice")
	}
	n := ClearBytes(mimeType, frame)
	out := make([]byte, n, len(frame)+24)
	copy(out, frame[:n])
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if h264 {
		var sealed []byte
		if sealed, err = s.ctx.Encrypt(nil, s.kidAt(time.Now()), s.ctr, frame[:n], frame[n:]); err == nil {
			out = appendEscaped(out, sealed)
		}
	} else {
		out, err = s.ctx.Encrypt(out, s.kidAt(time.Now()), s.ctr, frame[:n], frame[n:])
	}
	if err != nil {
		return nil, fmt.Errorf("e2ee: %w", err)
	}
	s.ctr++
	return out, nil
}

// opener decrypts one received track's frames. With one secret it
// learns the key of each sender's KID from the secret when a frame
// first carries it; with a schedule (E2EE.Keys) it holds those keys
// only, and a frame of any other KID does not open.
type opener struct {
	secret []byte
	fixed  bool // a schedule: no key is derived for a KID it lacks
	ctx    *sframe.Context
	kids   int // keys derived so far
}

// maxKIDs bounds the keys a receiver derives for KIDs frames announce:
// far more senders than a room holds, far fewer than a stream of made-up
// KIDs would have it derive.
const maxKIDs = 256

func newOpener(e *E2EE) (*opener, error) {
	ctx, err := sframe.NewContext(e.suite())
	if err != nil {
		return nil, err
	}
	if len(e.Keys) > 0 {
		if err := addKeys(ctx, e.Keys); err != nil {
			return nil, err
		}
		return &opener{ctx: ctx, fixed: true}, nil
	}
	return &opener{secret: e.Secret, ctx: ctx}, nil
}

// open returns the frame's plaintext, or an error: a frame that does
// not decrypt (another secret, a modified frame, a replay) is dropped,
// as a browser's transform drops it.
func (o *opener) open(mimeType string, frame []byte) ([]byte, error) {
	n := ClearBytes(mimeType, frame)
	body := frame[n:]
	if strings.EqualFold(mimeType, "video/h264") {
		body = unescape(body)
	}
	kid, _, _, err := sframe.ParseHeader(body)
	if err != nil {
		return nil, fmt.Errorf("e2ee: %w", err)
	}
	if !o.ctx.HasKey(kid) && !o.fixed {
		if o.kids >= maxKIDs {
			return nil, fmt.Errorf("e2ee: KID %d: already %d senders' keys", kid, o.kids)
		}
		o.kids++
		key, err := SenderKey(o.secret, kid)
		if err != nil {
			return nil, err
		}
		if err := o.ctx.AddKey(kid, key); err != nil {
			return nil, fmt.Errorf("e2ee: %w", err)
		}
	}
	out := append(make([]byte, 0, len(frame)), frame[:n]...)
	out, _, _, err = o.ctx.Decrypt(out, frame[:n], body)
	if err != nil {
		return nil, fmt.Errorf("e2ee: %w", err)
	}
	return out, nil
}
