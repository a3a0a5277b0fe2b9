package scenarios

import (
	"fmt"
	"slices"
	"strings"

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

	// Suite is Cipher resolved, filled by validation.
	Suite sframe.Suite `yaml:"-" json:"-"`
}

// maxKeyID keeps SFrame headers short and IDs readable.
const maxKeyID = 1<<32 - 1

func cipherNames() []string {
	var out []string
	for _, s := range sframe.Suites() {
		out = append(out, strings.ToLower(s.String()))
	}
	return out
}

// validateE2EE checks every participant's e2ee field and fills the
// defaults: if one participant encrypts, all must (a participant without
// the key is modelled with another key), video must be VP8 (the only
// video codec whose clear bytes are defined, and whose packetizer reads
// nothing in the frame), and no two participants sharing a key may share
// a key ID (they would reuse SFrame nonces, section 4.4.1).
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
		switch {
		case e.Key == "":
			bad("key is required: a passphrase shared by those who may read the media, e.g. key: \"correct horse\"", at("key")...)
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
		if slices.Contains(p.Publish, "video") && p.Video != peer.CodecVP8 {
			bad(fmt.Sprintf("e2ee leaves in clear only what an SFU needs of vp8 and opus; %s video is not supported", p.Video), at()...)
		}
	}
	if len(with) > 0 && len(without) > 0 {
		bad(fmt.Sprintf("e2ee is set for %s but not for %s: give everyone an e2ee key (a participant without the key is one with another key)", strings.Join(with, ", "), strings.Join(without, ", ")), "participants")
	}
	return errs
}
