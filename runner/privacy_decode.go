package runner

import (
	"bytes"
	"image"
	"math"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"golang.org/x/image/vp8"

	"github.com/rtclab/rtclab/stack/clip"
)

// Whether a hop could read the video is decided by decoding what it saw:
// the VP8 keyframes it carried are reassembled from its RTP packets
// (contiguous sequence numbers from the packet that starts the frame to
// the one with the marker bit, RFC 7741 section 4.1), given to a VP8
// decoder (golang.org/x/image/vp8, which decodes key frames), and the
// picture is compared with the sender's: the same keyframes of the
// published clips, decoded. A keyframe whose picture matches (PSNR of the
// luma at least matchPSNR) was readable. End-to-end encryption leaves a
// keyframe's first 10 bytes in clear, enough to look like a keyframe,
// not enough to decode one.

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
}

// hopFrames is what a hop keeps for the decode: the streams' builders
// and the complete keyframes.
type hopFrames struct {
	streams map[uint32]*frameBuilder
	kept    [][]byte
}

// vp8Packet feeds one VP8 RTP packet (header and payload) seen at a hop.
func (h *hopFrames) vp8Packet(hdr *rtp.Header, payload []byte) {
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
	var d codecs.VP8Packet
	body, err := d.Unmarshal(payload)
	switch {
	case err != nil || len(body) == 0:
		b.building = false
		return
	case d.S == 1 && d.PID == 0:
		b.building = body[0]&0x01 == 0 // P = 0: a key frame starts
		b.ts, b.buf = hdr.Timestamp, b.buf[:0]
	case !b.building || hdr.Timestamp != b.ts || hdr.SequenceNumber != b.next || len(b.buf)+len(body) > maxKeyframe:
		b.building = false // lost, reordered or repeated: give the frame up
		return
	}
	if !b.building {
		return
	}
	b.buf = append(b.buf, body...)
	b.next = hdr.SequenceNumber + 1
	if hdr.Marker {
		h.kept = append(h.kept, append([]byte(nil), b.buf...))
		b.building = false
	}
}

// decodeVP8 decodes a VP8 key frame.
func decodeVP8(frame []byte) (*image.YCbCr, error) {
	d := vp8.NewDecoder()
	d.Init(bytes.NewReader(frame), len(frame))
	if _, err := d.DecodeFrameHeader(); err != nil {
		return nil, err
	}
	return d.DecodeFrame()
}

// sourcePictures are the keyframes of the published VP8 clips, decoded
// one at a time as a comparison needs them (the plaintext of a call's
// first keyframe is usually the first clip's first), kept for the next.
type sourcePictures struct {
	clips []*clip.Clip
	pics  []*image.YCbCr
	clip  int          // the clip the next keyframe is decoded from
	play  *clip.Player // its player; nil before its first frame
	left  int          // frames of it not read yet
}

// nextPicture decodes the next keyframe of the clips, or returns nil
// when every one was.
func (s *sourcePictures) nextPicture() *image.YCbCr {
	for s.clip < len(s.clips) {
		c := s.clips[s.clip]
		if s.play == nil {
			s.play, s.left = c.Player(), c.Frames()
		}
		for s.left > 0 {
			s.left--
			f := s.play.NextFrame()
			if !c.Keyframe(f.Index) {
				continue
			}
			if img, err := decodeVP8(f.Sample.Data); err == nil {
				s.pics = append(s.pics, img)
				return img
			}
		}
		s.clip, s.play = s.clip+1, nil
	}
	return nil
}

// readable decodes a hop's keyframe and reports whether it decoded and
// whether its picture is one of the sender's.
func (s *sourcePictures) readable(frame []byte) (decoded, matches bool) {
	img, err := decodeVP8(frame)
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
