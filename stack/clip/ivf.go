package clip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

const (
	ivfFrameHeaderLen = 12     // frame size (4 bytes) and timestamp (8 bytes)
	videoClockRate    = 90_000 // RTP clock rate of every video codec here
)

// ivfCodec is what one IVF FourCC means for playback.
type ivfCodec struct {
	mimeType string
	keyframe func(frame []byte) bool
}

// ivfCodecFor returns the codec an IVF FourCC names.
func ivfCodecFor(fourCC string) (ivfCodec, bool) {
	switch fourCC {
	case "VP80":
		return ivfCodec{webrtc.MimeTypeVP8, vp8Keyframe}, true
	case "VP90":
		return ivfCodec{webrtc.MimeTypeVP9, vp9Keyframe}, true
	case "AV01":
		return ivfCodec{webrtc.MimeTypeAV1, av1Keyframe}, true
	}
	return ivfCodec{}, false
}

// loadIVF reads an IVF file (https://wiki.multimedia.cx/index.php/IVF) with
// pion's ivfreader. One IVF frame becomes one sample. Its duration is the
// distance to the next frame's timestamp in the file's timebase; the last
// frame lasts as long as the one before it.
func loadIVF(data []byte) (*Clip, error) {
	r := bytes.NewReader(data)
	ivf, header, err := ivfreader.NewWith(r)
	if err != nil {
		return nil, fmt.Errorf("ivf header: %w", err)
	}
	codec, ok := ivfCodecFor(header.FourCC)
	if !ok {
		return nil, fmt.Errorf("ivf FourCC %q: %w", header.FourCC, ErrUnsupported)
	}
	// The timebase is TimebaseNumerator/TimebaseDenominator seconds per
	// timestamp unit (1/30 for a 30 fps ffmpeg file); ivfreader has already
	// refused a zero denominator.
	tb := timebase{num: uint64(header.TimebaseNumerator), den: uint64(header.TimebaseDenominator)}
	if tb.num == 0 {
		return nil, fmt.Errorf("ivf timebase 0/%d: %w", tb.den, ErrMalformed)
	}

	c := &Clip{mimeType: codec.mimeType, clockRate: videoClockRate}
	var pts []uint64 // raw frame timestamps, in timebase units
	for i := 0; ; i++ {
		// ivfreader converts the frame timestamp into other units; read
		// the raw value from the frame header it is about to consume.
		offset := len(data) - r.Len()
		payload, _, err := ivf.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ivf frame %d at byte %d: %w", i, offset, err)
		}
		if len(payload) == 0 {
			return nil, fmt.Errorf("ivf frame %d at byte %d is empty: %w", i, offset, ErrMalformed)
		}
		ts := binary.LittleEndian.Uint64(data[offset+4 : offset+ivfFrameHeaderLen])
		if n := len(pts); n > 0 && ts <= pts[n-1] {
			return nil, fmt.Errorf("ivf frame %d: timestamp %d does not increase: %w", i, ts, ErrMalformed)
		}
		pts = append(pts, ts)
		c.frames = append(c.frames, Frame{
			Sample:   media.Sample{Data: payload},
			Keyframe: codec.keyframe(payload),
		})
	}

	for i := range c.frames {
		var end uint64
		switch {
		case i+1 < len(pts):
			end = pts[i+1]
		case i > 0: // the last frame lasts as long as the one before it
			end = pts[i] + pts[i] - pts[i-1]
		default: // a lone frame lasts one timebase unit
			end = pts[i] + 1
		}
		c.frames[i].Sample.Duration = tb.at(end) - tb.at(pts[i])
	}
	return c, nil
}

// timebase is a rational number of seconds per timestamp unit.
type timebase struct{ num, den uint64 }

// at returns the time of timestamp pts, rounded down to the nanosecond.
// Durations taken as differences of at() values add up to the exact
// length of the clip, so a clip loops without drift.
func (tb timebase) at(pts uint64) time.Duration {
	ticks := pts * tb.num
	whole := ticks / tb.den
	frac := ticks % tb.den
	return time.Duration(whole)*time.Second + time.Duration(frac*uint64(time.Second)/tb.den)
}

// vp8Keyframe reports whether a VP8 frame is a key frame: bit 0 of the
// frame tag is 0 for key frames (RFC 6386 section 9.1).
func vp8Keyframe(frame []byte) bool {
	return len(frame) > 0 && frame[0]&0x01 == 0
}

// vp9Keyframe reports whether a VP9 frame (or superframe, whose first frame
// starts at byte 0) is a key frame, from the start of uncompressed_header()
// (VP9 Bitstream Specification v0.6, section 6.2): frame_marker f(2),
// profile_low_bit f(1), profile_high_bit f(1), reserved_zero f(1) in profile
// 3 only, show_existing_frame f(1), then frame_type f(1) with KEY_FRAME = 0.
func vp9Keyframe(frame []byte) bool {
	if len(frame) == 0 {
		return false
	}
	b := frame[0]
	// bit returns bit n of the first byte, counting from the most
	// significant bit, as the specification reads them.
	bit := func(n int) byte { return (b >> (7 - n)) & 1 }
	if b>>6 != 2 { // frame_marker
		return false
	}
	profile := bit(3)<<1 | bit(2)
	next := 4
	if profile == 3 {
		next++ // reserved_zero
	}
	if bit(next) == 1 { // show_existing_frame: shows an already decoded frame
		return false
	}
	return bit(next+1) == 0 // frame_type
}

// AV1 OBU types (AV1 Bitstream and Decoding Process Specification, section
// 6.2.2).
const (
	av1OBUSequenceHeader = 1
	av1OBUFrameHeader    = 3
	av1OBUFrame          = 6
)

// av1Keyframe reports whether an AV1 temporal unit, in the low-overhead
// bitstream format IVF carries (AV1 specification section 5.2), starts with
// a key frame. It walks the OBU headers (section 5.3) to the first frame
// header (section 5.9.2): with reduced_still_picture_header set in a sequence
// header of the same temporal unit every frame is a key frame; otherwise
// show_existing_frame f(1) must be 0 and frame_type f(2) must be KEY_FRAME
// (0). Truncated or malformed OBUs yield false.
func av1Keyframe(tu []byte) bool {
	reducedStill := false
	for len(tu) > 0 {
		h := tu[0]
		obuType := (h >> 3) & 0x0f
		hasExtension := h&0x04 != 0
		hasSize := h&0x02 != 0
		rest := tu[1:]
		if hasExtension {
			if len(rest) == 0 {
				return false
			}
			rest = rest[1:]
		}
		size := uint64(len(rest)) // without a size field the OBU fills the rest
		if hasSize {
			var n int
			size, n = leb128(rest)
			if n == 0 {
				return false
			}
			rest = rest[n:]
		}
		if size > uint64(len(rest)) {
			return false
		}
		obu := rest[:size]
		switch obuType {
		case av1OBUSequenceHeader:
			// seq_profile f(3), still_picture f(1),
			// reduced_still_picture_header f(1) (section 5.5.1).
			reducedStill = len(obu) > 0 && obu[0]&0x08 != 0
		case av1OBUFrameHeader, av1OBUFrame:
			if reducedStill {
				return true
			}
			// show_existing_frame f(1) == 0, frame_type f(2) == KEY_FRAME.
			return len(obu) > 0 && obu[0]&0xe0 == 0
		}
		tu = rest[size:]
	}
	return false
}

// leb128 decodes an unsigned LEB128 value of at most 8 bytes (AV1
// specification section 4.10.5) and returns it with the number of bytes
// read, or 0 bytes if b ends inside the value.
func leb128(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < 8 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
