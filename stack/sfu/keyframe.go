package sfu

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// keyframeStart reports whether an RTP payload is the first packet of a
// keyframe, the only place a subscriber can start decoding a new layer.
// Audio packets always are.
func keyframeStart(mimeType string, payload []byte) bool {
	switch {
	case strings.HasPrefix(strings.ToLower(mimeType), "audio/"):
		return true
	case strings.EqualFold(mimeType, webrtc.MimeTypeVP8):
		return vp8KeyframeStart(payload)
	case strings.EqualFold(mimeType, webrtc.MimeTypeVP9):
		return vp9KeyframeStart(payload)
	case strings.EqualFold(mimeType, webrtc.MimeTypeH264):
		return h264KeyframeStart(payload)
	case strings.EqualFold(mimeType, webrtc.MimeTypeAV1):
		return av1KeyframeStart(payload)
	}
	return false
}

// vp8KeyframeStart parses the VP8 payload descriptor (RFC 7741 section
// 4.2): S=1 and PID=0 mark the start of a frame, and the first bit of the
// VP8 payload header, P, is 0 for a key frame (section 4.3).
func vp8KeyframeStart(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	x, s, pid := b[0]&0x80 != 0, b[0]&0x10 != 0, b[0]&0x07
	if !s || pid != 0 {
		return false
	}
	i := 1
	if x {
		if len(b) < 2 {
			return false
		}
		ext := b[1]
		i = 2
		if ext&0x80 != 0 { // I: picture ID, 7 or 15 bits
			if len(b) <= i {
				return false
			}
			if b[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	return len(b) > i && b[i]&0x01 == 0
}

// vp9KeyframeStart parses the first byte of the VP9 payload descriptor
// (RFC 9628 section 4.2): B=1 starts a frame, P=0 means it is not
// inter-picture predicted.
func vp9KeyframeStart(b []byte) bool {
	return len(b) > 0 && b[0]&0x08 != 0 && b[0]&0x40 == 0
}

// h264KeyframeStart reports an IDR slice or a sequence parameter set at
// the start of a payload: a single NAL unit, the first unit of a STAP-A
// (RFC 6184 section 5.7.1), or the start of an FU-A (section 5.8).
func h264KeyframeStart(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch typ := b[0] & 0x1f; typ {
	case 5, 7:
		return true
	case 24: // STAP-A: walk the aggregated units
		for i := 1; i+2 < len(b); {
			size := int(b[i])<<8 | int(b[i+1])
			if i+2 >= len(b) {
				break
			}
			if t := b[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + size
		}
	case 28: // FU-A
		return len(b) > 1 && b[1]&0x80 != 0 && b[1]&0x1f == 5
	}
	return false
}

// av1KeyframeStart reads the AV1 aggregation header (AV1 RTP
// specification section 4.4): N=1 marks the first packet of a coded video
// sequence, which starts with a key frame.
func av1KeyframeStart(b []byte) bool {
	return len(b) > 0 && b[0]&0x08 != 0 && b[0]&0x80 == 0
}
