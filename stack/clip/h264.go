package clip

import (
	"fmt"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// H264FrameRate is the frame rate assumed for an Annex-B H.264 clip: the
// byte stream carries no timing (ITU-T H.264 Annex B), and every clip
// make-clips.sh writes runs at 30 fps.
const H264FrameRate = 30

// H.264 NAL unit types (ITU-T H.264 table 7-1).
const (
	nalSlice = 1
	nalIDR   = 5
	nalAUD   = 9
)

// loadH264 reads an Annex-B H.264 byte stream with one slice per picture
// and no B-frames, as make-clips.sh writes it. Each access unit (parameter
// sets and SEI, then one slice, each with its start code) becomes one
// sample, ready for pion's H.264 payloader, which splits on start codes.
// A sample is a keyframe when it holds an IDR slice.
func loadH264(data []byte) (*Clip, error) {
	nals := SplitAnnexB(data)
	if len(nals) == 0 {
		return nil, fmt.Errorf("h264: no start code: %w", ErrMalformed)
	}
	c := &Clip{mimeType: webrtc.MimeTypeH264, clockRate: videoClockRate}
	dur := time.Second / H264FrameRate
	var au []byte
	for _, nal := range nals {
		if len(nal) == 0 {
			continue
		}
		typ := nal[0] & 0x1f
		if typ == nalAUD {
			continue
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal...)
		if typ == nalSlice || typ == nalIDR {
			c.frames = append(c.frames, Frame{Sample: media.Sample{Data: au, Duration: dur}, Keyframe: typ == nalIDR})
			au = nil
		}
	}
	return c, nil
}

// SplitAnnexB splits a byte stream at its 3- or 4-byte start codes
// (ITU-T H.264 section B.2) and returns the NAL units without them.
func SplitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 { // 4-byte start code
					end--
				}
				out = append(out, b[start:end])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

// h264Keyframe reports whether an Annex-B access unit holds an IDR slice.
func h264Keyframe(au []byte) bool {
	for _, nal := range SplitAnnexB(au) {
		if len(nal) > 0 && nal[0]&0x1f == nalIDR {
			return true
		}
	}
	return false
}

// IsKeyframe reports whether an encoded frame of the given codec (a MIME
// type such as "video/VP8") decodes on its own: a VP8, VP9 or AV1 key frame
// or an H.264 access unit with an IDR slice, as a depacketizer hands it
// out. Every audio frame is a keyframe; an unknown codec's never is.
func IsKeyframe(mimeType string, frame []byte) bool {
	// EqualFold rather than ToLower: a receiver asks for every frame, and
	// lowering pion's "video/VP8" allocated each time.
	switch {
	case strings.EqualFold(mimeType, "video/vp8"):
		return vp8Keyframe(frame)
	case strings.EqualFold(mimeType, "video/vp9"):
		return vp9Keyframe(frame)
	case strings.EqualFold(mimeType, "video/av1"):
		return av1Keyframe(frame)
	case strings.EqualFold(mimeType, "video/h264"):
		return h264Keyframe(frame)
	}
	return len(mimeType) >= 6 && strings.EqualFold(mimeType[:6], "audio/")
}
