package sframe

import "errors"

var (
	// ErrHeader means a ciphertext is too short for the header its
	// config byte announces (RFC 9605 section 4.3).
	ErrHeader = errors.New("sframe: truncated header")
	// ErrUnknownKID means no key is held for the KID in the header
	// (section 4.4.4: the caller may keep the frame until one arrives).
	ErrUnknownKID = errors.New("sframe: no key for KID")
	// ErrAuth means the authentication tag did not verify: a wrong key,
	// a modified frame or modified metadata.
	ErrAuth = errors.New("sframe: authentication failed")
	// ErrReplay means a frame with this KID and CTR was already accepted,
	// or is older than the replay window (section 9.3).
	ErrReplay = errors.New("sframe: replayed or too old")
	// ErrSuite means an unknown cipher suite or a key of the wrong size.
	ErrSuite = errors.New("sframe: bad cipher suite or key")
)
