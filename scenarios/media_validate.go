package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/stack/peer"
	"github.com/rtclab/rtclab/yamldecode"
)

// videoCodecs are the codecs a participant may publish video in.
var videoCodecs = []string{peer.CodecVP8, peer.CodecVP9, peer.CodecH264, peer.CodecAV1}

// validateMedia checks participant i's video, simulcast and codecs fields
// and fills the video default.
func (s *Scenario) validateMedia(root *yaml.Node, i int) []error {
	var errs []error
	p := &s.Participants[i]
	bad := func(msg string, path ...any) {
		path = append([]any{"participants", i}, path...)
		errs = append(errs, &Error{File: s.File, Line: yamldecode.LineOf(root, path...), Field: fieldPath(path), Msg: msg})
	}
	p.Video = strings.ToLower(p.Video)
	if p.Video == "" {
		p.Video = peer.CodecVP8
	}
	if !slices.Contains(videoCodecs, p.Video) {
		bad(fmt.Sprintf("unknown video codec %q (allowed: %s)", p.Video, strings.Join(videoCodecs, ", ")), "video")
	}
	publishesVideo := slices.Contains(p.Publish, "video")
	if p.Simulcast {
		if !publishesVideo {
			bad("simulcast needs video in publish", "simulcast")
		}
		if p.Video != peer.CodecVP8 {
			bad(fmt.Sprintf("simulcast clips exist for vp8 only, not %s", p.Video), "simulcast")
		}
	}
	known := peer.Codecs()
	for j, c := range p.Codecs {
		if !slices.Contains(known, strings.ToLower(c)) {
			bad(fmt.Sprintf("unknown codec %q (allowed: %s)", c, strings.Join(known, ", ")), "codecs", j)
		}
		p.Codecs[j] = strings.ToLower(c)
	}
	if hasDup(p.Codecs) {
		bad("lists the same codec twice", "codecs")
	}
	if publishesVideo && len(p.Codecs) > 0 && listsKind(p.Codecs, "video") && !slices.Contains(p.Codecs, p.Video) {
		bad(fmt.Sprintf("publishes %s video but its codecs (%s) leave %s out", p.Video, strings.Join(p.Codecs, ", "), p.Video), "codecs")
	}
	if slices.Contains(p.Publish, "audio") && len(p.Codecs) > 0 && listsKind(p.Codecs, "audio") && !slices.Contains(p.Codecs, peer.CodecOpus) {
		bad("publishes opus audio but its codecs leave opus out", "codecs")
	}
	return errs
}

// listsKind reports whether codecs names any codec of kind.
func listsKind(codecs []string, kind string) bool {
	for _, c := range codecs {
		if strings.HasPrefix(peer.CodecMimeType(c), kind+"/") {
			return true
		}
	}
	return false
}
