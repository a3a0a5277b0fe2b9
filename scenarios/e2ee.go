package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/stack/peer"
	"github.com/rtclab/rtclab/stack/sframe"
	"github.com/rtclab/rtclab/yamldecode"
)

// E2EE is a participant's end-to-end encryption: SFrame (RFC 9605) on
// every encoded frame it sends and receives, so that the SFU forwards
// frames it cannot read.
type E2EE struct {
	// Key is a passphrase shared by the participants who can read each
	// other (text, 1-256 bytes, used as it is: no key stretching). A
	// participant given another passphrase gets no picture.
	Key string `yaml:"key"`
	// KeyID is the SFrame KID the participant sends with; its sending key
	// is derived from Key and KeyID. Default: its position in the
	// participants list (0, 1, ...). Two participants with the same key
	// must not share a key ID.
	KeyID *uint64 `yaml:"key_id"`
	// Cipher is the SFrame cipher suite, by its RFC 9605 name in lower
	// case. Default aes_128_gcm_sha256_128.
	Cipher string `yaml:"cipher"`
	// Keys, instead of Key and KeyID, is a key schedule: the keys the
	// participant holds, each with its KID and the time it starts sending
	// with it (RFC 9605 section 4.4: the sender writes the KID of its
	// current key). It opens only frames whose KID is in its list, so a
	// participant that lacks a key gets no frame from the moment a sender
	// moves to it. Participants with the same keys send in disjoint
	// counter ranges (their index in participants), never reusing a
	// nonce.
	Keys []E2EEKey `yaml:"keys"`

	// Suite is Cipher resolved, filled by validation.
	Suite sframe.Suite `yaml:"-" json:"-"`
}

// E2EEKey is one key of a schedule (E2EE.Keys).
type E2EEKey struct {
	// KID is the SFrame key ID (required, 0..2^32-1, distinct in a list).
	KID *uint64 `yaml:"kid"`
	// Key is the passphrase (text, 1-256 bytes); the base key is derived
	// from it and KID as for E2EE.Key.
	Key string `yaml:"key"`
	// From is when, after the start, the participant starts sending with
	// it; the first key starts at 0 (the default).
	From Duration `yaml:"from"`
}

// maxKeyID keeps SFrame headers short and IDs readable.
const maxKeyID = 1<<32 - 1

// maxKeys bounds a key schedule.
const maxKeys = 16

func cipherNames() []string {
	var out []string
	for _, s := range sframe.Suites() {
		out = append(out, strings.ToLower(s.String()))
	}
	return out
}

// validateE2EE checks every participant's e2ee field and fills the
// defaults: if one participant encrypts, all must (a participant without
// the key is modelled with another key), video must be VP8, VP9 or H.264
// (the codecs whose clear bytes are defined: stack/agent/e2ee_codec.go),
// and no two participants sharing a key may share a key ID (they would
// reuse SFrame nonces, section 4.4.1).
func (s *Scenario) validateE2EE(root *yaml.Node) []error {
	var errs []error
	bad := func(msg string, path ...any) {
		errs = append(errs, &Error{File: s.File, Line: yamldecode.LineOf(root, path...), Field: fieldPath(path), Msg: msg})
	}
	var with, without []string
	type kidKey struct {
		key string
		kid uint64
	}
	owner := map[kidKey]string{}
	schedules := 0
	for i := range s.Participants {
		p := &s.Participants[i]
		at := func(rest ...any) []any { return append([]any{"participants", i, "e2ee"}, rest...) }
		e := p.E2EE
		if e == nil {
			without = append(without, p.Name)
			continue
		}
		with = append(with, p.Name)
		if s.Topology == TopologyFlows {
			bad("e2ee applies to the sfu and p2p topologies (flows carry no frames)", at()...)
		}
		if len(e.Keys) > 0 {
			schedules++
			errs = append(errs, s.validateKeys(root, i)...)
			if e.Key != "" || e.KeyID != nil {
				bad("give either key (and key_id) or keys, not both", at("keys")...)
			}
		} else {
			switch {
			case e.Key == "":
				bad("key is required: a passphrase shared by those who may read the media, e.g. key: \"correct horse\" (or keys: a schedule)", at("key")...)
			case len(e.Key) > 256:
				bad(fmt.Sprintf("key is %d bytes; at most 256", len(e.Key)), at("key")...)
			}
			kid := uint64(i)
			if e.KeyID != nil {
				kid = *e.KeyID
				if kid > maxKeyID {
					bad(fmt.Sprintf("key_id %d is outside 0..%d", kid, uint64(maxKeyID)), at("key_id")...)
				}
			}
			e.KeyID = &kid
			if prev, ok := owner[kidKey{e.Key, kid}]; ok && e.Key != "" {
				bad(fmt.Sprintf("key_id %d is %s's too, with the same key: two senders would reuse SFrame nonces; give each its own key_id", kid, prev), at("key_id")...)
			}
			owner[kidKey{e.Key, kid}] = p.Name
		}
		names := cipherNames()
		e.Cipher = strings.ToLower(e.Cipher)
		if e.Cipher == "" {
			e.Cipher = strings.ToLower(sframe.AES128GCMSHA256_128.String())
		}
		if j := slices.Index(names, e.Cipher); j >= 0 {
			e.Suite = sframe.Suites()[j]
		} else {
			bad(fmt.Sprintf("unknown cipher %q (allowed: %s)%s", e.Cipher, strings.Join(names, ", "), yamldecode.DidYouMean(e.Cipher, names)), at("cipher")...)
		}
		if slices.Contains(p.Publish, "video") && p.Video == peer.CodecAV1 {
			bad("e2ee supports vp8, vp9 and h264 video (and opus): av1 is not supported (pion's AV1 packetizer parses and rewrites every OBU header and size, so the clear bytes would need rebuilding on both sides; see docs/scenarios.md)", at()...)
		}
	}
	if schedules > 0 && schedules < len(with) {
		// A schedule's counters are partitioned by participant; a single
		// key's are not, so the two could meet on one (KID, CTR).
		bad("some participants have e2ee keys (a schedule) and others e2ee key: use one form for everyone", "participants")
	}
	if len(with) > 0 && len(without) > 0 {
		bad(fmt.Sprintf("e2ee is set for %s but not for %s: give everyone an e2ee key (a participant without the key is one with another key)", strings.Join(with, ", "), strings.Join(without, ", ")), "participants")
	}
	return errs
}

// validateKeys checks participant i's key schedule: 1-16 keys, each with
// a KID (distinct) and a passphrase, From within the scenario, one key
// from 0 and no two from the same instant.
func (s *Scenario) validateKeys(root *yaml.Node, i int) []error {
	var errs []error
	bad := func(msg string, path ...any) {
		errs = append(errs, &Error{File: s.File, Line: yamldecode.LineOf(root, path...), Field: fieldPath(path), Msg: msg})
	}
	keys := s.Participants[i].E2EE.Keys
	at := func(rest ...any) []any { return append([]any{"participants", i, "e2ee", "keys"}, rest...) }
	if len(keys) > maxKeys {
		bad(fmt.Sprintf("%d keys; at most %d", len(keys), maxKeys), at()...)
	}
	kids := map[uint64]int{}
	froms := map[time.Duration]int{}
	for j, k := range keys {
		switch {
		case k.KID == nil:
			bad("kid is required: the SFrame key ID frames sent with this key carry, 0..4294967295", at(j)...)
		case *k.KID > maxKeyID:
			bad(fmt.Sprintf("kid %d is outside 0..%d", *k.KID, uint64(maxKeyID)), at(j, "kid")...)
		default:
			if prev, ok := kids[*k.KID]; ok {
				bad(fmt.Sprintf("kid %d is keys[%d]'s too: each key of a schedule has its own kid", *k.KID, prev), at(j, "kid")...)
			}
			kids[*k.KID] = j
		}
		switch {
		case k.Key == "":
			bad("key is required: a passphrase (text, 1-256 bytes)", at(j)...)
		case len(k.Key) > 256:
			bad(fmt.Sprintf("key is %d bytes; at most 256", len(k.Key)), at(j, "key")...)
		}
		switch from := k.From.Duration; {
		case from < 0 || from >= s.Duration.Duration && s.Duration.Duration > 0:
			bad(fmt.Sprintf("from %v is outside 0s..%v (the scenario's duration)", from, s.Duration.Duration), at(j, "from")...)
		default:
			if prev, ok := froms[from]; ok {
				bad(fmt.Sprintf("from %v is keys[%d]'s too: two keys cannot start at once", from, prev), at(j, "from")...)
			}
			froms[from] = j
		}
	}
	if _, ok := froms[0]; !ok && len(keys) > 0 && len(froms) == len(keys) {
		bad("no key starts at 0s: give the first key no from (or from: 0s)", at()...)
	}
	return errs
}
