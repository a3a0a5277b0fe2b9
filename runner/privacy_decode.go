package runner

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"math"
	"slices"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"golang.org/x/image/vp8"

	"github.com/rtclab/rtclab/stack/clip"
)

// Whether a hop could read the video is decided from the keyframes it
// carried, reassembled from its RTP packets (contiguous sequence numbers
// from the packet that starts the frame to the one with the marker bit:
// RFC 7741 section 4.1 for VP8, RFC 9628 section 4.1 for VP9, an access
// unit of RFC 6184 section 5.1 for H.264). A VP8 keyframe is given to a
// decoder (golang.org/x/image/vp8, which decodes key frames) and its
// picture compared with the sender's: the same keyframes of the
// published clips, decoded; a match (PSNR of the luma at least
// matchPSNR) was readable. Go has no VP9 or H.264 decoder, so their
// keyframes are compared with the published clips' byte for byte (an
// H.264 access unit as its NAL units, without the start codes and the
// delimiters a payloader drops): what a hop holds is then the sender's
// encoded picture, which any decoder reads. End-to-end encryption leaves
// a keyframe's first bytes in clear, enough to look like a keyframe, not
// enough to decode one or to be one.

// Limits of the decode attempts per hop: keyframes kept for decoding and
// the bytes of one keyframe.
const (
	keptKeyframes = 4
	maxKeyframe   = 1 << 20
	// matchPSNR is the luma PSNR above which a decoded picture is the
	// sender's: the plaintext decodes bit-exactly (infinite PSNR).
	matchPSNR = 30.0
)

// frameBuilder reassembles the keyframes of one stream at one hop.
type frameBuilder struct {
	building bool
	ts       uint32
	next     uint16
	buf      []byte
	// ended is true after a packet with the marker bit, the last of a
	// frame: an H.264 access unit starts with the next (RFC 6184 has no
	// start-of-frame bit). h264 depacketizes the unit being built.
	ended bool
	h264  *codecs.H264Packet
}

// keptFrame is a complete keyframe a hop carried, of codec mimeType.
type keptFrame struct {
	mimeType string
	data     []byte
}

// hopFrames is what a hop keeps for the decode: the streams' builders
// and the complete keyframes.
type hopFrames struct {
	streams map[uint32]*frameBuilder
	kept    []keptFrame
}

// packet feeds one RTP packet (header and payload) of a video stream in
// codec mimeType (VP8, VP9 or H.264) seen at a hop.
func (h *hopFrames) packet(mimeType string, hdr *rtp.Header, payload []byte) {
	if len(h.kept) >= keptKeyframes {
		return
	}
	if h.streams == nil {
		h.streams = map[uint32]*frameBuilder{}
	}
	b := h.streams[hdr.SSRC]
	if b == nil {
		b = &frameBuilder{}
		h.streams[hdr.SSRC] = b
	}
	contiguous := hdr.SequenceNumber == b.next
	b.next = hdr.SequenceNumber + 1
	ended := b.ended
	b.ended = hdr.Marker
	body, start, key, err := depacketize(strings.ToLower(mimeType), b, payload, ended && contiguous)
	switch {
	case err != nil:
		b.building = false
		return
	case start:
		b.building = key
		b.ts, b.buf = hdr.Timestamp, b.buf[:0]
	case !b.building || hdr.Timestamp != b.ts || !contiguous || len(b.buf)+len(body) > maxKeyframe:
		b.building = false // lost, reordered or repeated: give the frame up
		return
	}
	if !b.building {
		return
	}
	b.buf = append(b.buf, body...)
	if hdr.Marker {
		b.building = false
		if clip.IsKeyframe(mimeType, b.buf) {
			h.kept = append(h.kept, keptFrame{mimeType, append([]byte(nil), b.buf...)})
		}
	}
}

// depacketize returns the frame bytes an RTP payload carries, whether it
// starts a frame and, if so, whether that frame may be a keyframe (for
// H.264 the access unit decides at its end). unitStart says that the
// packet follows the last of a frame in sequence.
func depacketize(mimeType string, b *frameBuilder, payload []byte, unitStart bool) (body []byte, start, key bool, err error) {
	switch mimeType {
	case "video/vp8":
		var d codecs.VP8Packet
		if body, err = d.Unmarshal(payload); err != nil || len(body) == 0 {
			return nil, false, false, errNoFrame
		}
		start = d.S == 1 && d.PID == 0
		return body, start, start && body[0]&0x01 == 0, nil // P = 0: a key frame
	case "video/vp9":
		var d codecs.VP9Packet
		if body, err = d.Unmarshal(payload); err != nil || len(body) == 0 {
			return nil, false, false, errNoFrame
		}
		return body, d.B, d.B && !d.P, nil // B: beginning of a frame; P: predicted from another
	case "video/h264":
		if unitStart {
			b.h264 = &codecs.H264Packet{}
		}
		if b.h264 == nil {
			return nil, false, false, errNoFrame
		}
		if body, err = b.h264.Unmarshal(payload); err != nil {
			b.h264 = nil
			return nil, false, false, errNoFrame
		}
		return body, unitStart, unitStart, nil
	}
	return nil, false, false, errNoFrame
}

// errNoFrame is a payload that carries no part of a frame this file reads.
var errNoFrame = errors.New("privacy: no video frame")

// decodeVP8 decodes a VP8 key frame.
func decodeVP8(frame []byte) (*image.YCbCr, error) {
	d := vp8.NewDecoder()
	d.Init(bytes.NewReader(frame), len(frame))
	if _, err := d.DecodeFrameHeader(); err != nil {
		return nil, err
	}
	return d.DecodeFrame()
}

// sourcePictures are the keyframes of the published clips: VP8 ones
// decoded one at a time as a comparison needs them (the plaintext of a
// call's first keyframe is usually the first clip's first), kept for the
// next; VP9 and H.264 ones as their bytes.
type sourcePictures struct {
	clips []*clip.Clip
	pics  []*image.YCbCr
	data  [][]byte     // the VP8 keyframe each of pics was decoded from
	clip  int          // the VP8 clip the next keyframe is decoded from
	play  *clip.Player // its player; nil before its first frame
	left  int          // frames of it not read yet
	tries int          // VP8 decodes tried, the hops' and the sender's
	// frames are the VP9 and H.264 keyframes, normalized (sameFrame),
	// by codec; read once, at the first comparison.
	frames map[string][][]byte
}

// decode decodes a VP8 key frame and counts the try.
func (s *sourcePictures) decode(frame []byte) (*image.YCbCr, error) {
	s.tries++
	return decodeVP8(frame)
}

// keep keeps the picture of the sender's VP8 keyframe frame.
func (s *sourcePictures) keep(img *image.YCbCr, frame []byte) {
	s.pics, s.data = append(s.pics, img), append(s.data, frame)
}

// decoded reports whether a VP8 keyframe with frame's bytes was decoded.
func (s *sourcePictures) decoded(frame []byte) bool {
	return slices.ContainsFunc(s.data, func(d []byte) bool { return bytes.Equal(d, frame) })
}

// sendersVP8 returns the keyframe of the VP8 clips with frame's bytes, or
// false.
func (s *sourcePictures) sendersVP8(frame []byte) ([]byte, bool) {
	for _, c := range s.clips {
		if !strings.EqualFold(c.MimeType(), webrtc.MimeTypeVP8) {
			continue
		}
		p := c.Player()
		for range c.Frames() {
			if f := p.NextFrame(); c.Keyframe(f.Index) && bytes.Equal(f.Sample.Data, frame) {
				return f.Sample.Data, true
			}
		}
	}
	return nil, false
}

// nextPicture decodes the next keyframe of the VP8 clips not decoded yet,
// or returns nil when every one was.
func (s *sourcePictures) nextPicture() *image.YCbCr {
	for s.clip < len(s.clips) {
		c := s.clips[s.clip]
		if !strings.EqualFold(c.MimeType(), webrtc.MimeTypeVP8) {
			s.clip++
			continue
		}
		if s.play == nil {
			s.play, s.left = c.Player(), c.Frames()
		}
		for s.left > 0 {
			s.left--
			f := s.play.NextFrame()
			if !c.Keyframe(f.Index) || s.decoded(f.Sample.Data) {
				continue
			}
			if img, err := s.decode(f.Sample.Data); err == nil {
				s.keep(img, f.Sample.Data)
				return img
			}
		}
		s.clip, s.play = s.clip+1, nil
	}
	return nil
}

// readable checks a hop's keyframe: a VP8 one is decoded (decoded) and
// its picture compared with the sender's (matches); a VP9 or H.264 one
// is compared with the sender's keyframes byte for byte (decoded is
// then false: no decoder).
//
// A VP8 keyframe with the very bytes of one of the sender's is the
// sender's picture (the decoder is deterministic), so it is looked up by
// its bytes first and only that keyframe of the sender's is decoded: in a
// call without end-to-end encryption the hops carry the plaintext, and
// decoding the hop's keyframe and the sender's before it (three decodes
// in a quickstart run) was 6 % of the run's instructions (issue #19). The
// answer is the decode's: the same bytes decode, or fail to, alike.
func (s *sourcePictures) readable(f keptFrame) (decoded, matches bool) {
	mt := strings.ToLower(f.mimeType)
	if mt != "video/vp8" {
		if s.frames == nil {
			s.frames = map[string][][]byte{}
			for _, c := range s.clips {
				p := c.Player()
				for range c.Frames() {
					fr := p.NextFrame()
					if c.Keyframe(fr.Index) {
						k := strings.ToLower(c.MimeType())
						s.frames[k] = append(s.frames[k], normalized(k, fr.Sample.Data))
					}
				}
			}
		}
		got := normalized(mt, f.data)
		for _, src := range s.frames[mt] {
			if bytes.Equal(got, src) {
				return false, true
			}
		}
		return false, false
	}
	if k, ok := s.sendersVP8(f.data); ok {
		if s.decoded(k) {
			return true, true
		}
		img, err := s.decode(k)
		if err != nil {
			return false, false
		}
		s.keep(img, k)
		return true, true
	}
	img, err := s.decode(f.data)
	if err != nil {
		return false, false
	}
	for _, src := range s.pics {
		if lumaPSNR(img, src) >= matchPSNR {
			return true, true
		}
	}
	for src := s.nextPicture(); src != nil; src = s.nextPicture() {
		if lumaPSNR(img, src) >= matchPSNR {
			return true, true
		}
	}
	return true, false
}

// normalized is a keyframe as compared: an H.264 access unit's NAL units
// each after a 4-byte start code, without access unit delimiters and
// filler (ITU-T H.264 table 7-1: types 9 and 12, which pion's payloader
// drops); any other codec's frame as it is.
func normalized(mimeType string, frame []byte) []byte {
	if mimeType != "video/h264" {
		return frame
	}
	var out []byte
	for _, nal := range clip.SplitAnnexB(frame) {
		if len(nal) == 0 || nal[0]&0x1f == 9 || nal[0]&0x1f == 12 {
			continue
		}
		out = append(append(out, 0, 0, 0, 1), nal...)
	}
	return out
}

// lumaPSNR is the PSNR of a's luma against b's in dB (+Inf when equal, 0
// when the sizes differ).
func lumaPSNR(a, b *image.YCbCr) float64 {
	r := a.Rect
	if r != b.Rect {
		return 0
	}
	var se float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		ra := a.Y[(y-r.Min.Y)*a.YStride:][:r.Dx()]
		rb := b.Y[(y-r.Min.Y)*b.YStride:][:r.Dx()]
		for x := range ra {
			d := float64(ra[x]) - float64(rb[x])
			se += d * d
		}
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(r.Dx()*r.Dy())/se)
}

// privacyVideo reports whether the privacy section reads the video codec
// mimeType: VP8, VP9 and H.264 (the codecs of the published clips whose
// keyframes it can check).
func privacyVideo(mimeType string) bool {
	switch strings.ToLower(mimeType) {
	case "video/vp8", "video/vp9", "video/h264":
		return true
	}
	return false
}

// startsKeyframe reports whether an RTP payload starts a keyframe that
// parses as one, of codec mimeType: VP8 (vp8Keyframe); VP9, a payload
// descriptor with B set and P clear (RFC 9628 section 4.2) and a frame
// whose header is a key frame's with its sync code 49 83 42 (VP9
// bitstream specification section 6.2, profiles 0-2); H.264, a STAP-A
// (RFC 6184 section 5.7.1) whose first NAL unit is a sequence parameter
// set of a known profile, as every IDR access unit of the clips starts
// (pion's payloader aggregates the parameter sets). Ciphertext passes
// the VP9 check about once in 2^30 packets and the H.264 one about once
// in 2^17.
func startsKeyframe(mimeType string, p []byte) bool {
	switch strings.ToLower(mimeType) {
	case "video/vp8":
		return vp8Keyframe(p)
	case "video/vp9":
		var d codecs.VP9Packet
		body, err := d.Unmarshal(p)
		return err == nil && d.B && !d.P && len(body) >= 4 && clip.IsKeyframe(mimeType, body) &&
			body[1] == 0x49 && body[2] == 0x83 && body[3] == 0x42
	case "video/h264":
		if len(p) < 5 || p[0]&0x9f != 24 { // forbidden bit 0, type 24: STAP-A
			return false
		}
		size := int(binary.BigEndian.Uint16(p[1:3]))
		switch p[4] { // profile_idc (ITU-T H.264 section 7.4.2.1.1)
		case 66, 77, 88, 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		default:
			return false
		}
		return size >= 4 && 3+size <= len(p) && p[3]&0x9f == 7 && p[3]&0x60 != 0 // SPS, nal_ref_idc > 0
	}
	return false
}
