package clip

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func TestKeyframe(t *testing.T) {
	tests := []struct {
		name     string
		keyframe func([]byte) bool
		frame    []byte
		want     bool
	}{
		// VP8 frame tag, RFC 6386 section 9.1: bit 0 is the frame type.
		{"VP8 key frame", vp8Keyframe, []byte{0xb0, 0x94, 0x00, 0x9d, 0x01, 0x2a}, true},
		{"VP8 interframe", vp8Keyframe, []byte{0x31, 0x2e, 0x00}, false},
		{"VP8 empty", vp8Keyframe, nil, false},

		// VP9 uncompressed header: marker 10, profile bits, [reserved],
		// show_existing_frame, frame_type.
		{"VP9 profile 0 key frame", vp9Keyframe, []byte{0b1000_0010}, true},
		{"VP9 profile 0 inter frame", vp9Keyframe, []byte{0b1000_0110}, false},
		{"VP9 profile 1 key frame", vp9Keyframe, []byte{0b1010_0010}, true},
		{"VP9 profile 2 inter frame", vp9Keyframe, []byte{0b1001_0100}, false},
		{"VP9 profile 3 key frame", vp9Keyframe, []byte{0b1011_0000}, true},
		{"VP9 profile 3 inter frame", vp9Keyframe, []byte{0b1011_0010}, false},
		{"VP9 show existing frame", vp9Keyframe, []byte{0b1000_1000}, false},
		{"VP9 bad frame marker", vp9Keyframe, []byte{0b0000_0000}, false},
		{"VP9 empty", vp9Keyframe, nil, false},

		// AV1 OBUs: header byte = type<<3 | extension<<2 | has_size<<1.
		{"AV1 TD, sequence header, key frame", av1Keyframe, []byte{
			0x12, 0x00, // temporal delimiter, size 0
			0x0a, 0x02, 0x00, 0x00, // sequence header, size 2, profile 0
			0x32, 0x02, 0x10, 0x00, // frame, size 2: show_existing 0, frame_type 0
		}, true},
		{"AV1 inter frame", av1Keyframe, []byte{0x12, 0x00, 0x32, 0x01, 0x30}, false},      // frame_type 1
		{"AV1 intra-only frame", av1Keyframe, []byte{0x12, 0x00, 0x32, 0x01, 0x50}, false}, // frame_type 2
		{"AV1 show existing frame", av1Keyframe, []byte{0x12, 0x00, 0x1a, 0x01, 0x80}, false},
		{"AV1 key frame header with extension", av1Keyframe, []byte{0x1e, 0x00, 0x01, 0x10}, true},
		{"AV1 key frame, last OBU without size", av1Keyframe, []byte{0x12, 0x00, 0x30, 0x10, 0xff}, true},
		{"AV1 two-byte leb128 size", av1Keyframe, append([]byte{0x32, 0x81, 0x01, 0x10}, make([]byte, 128)...), true},
		{"AV1 reduced still picture header", av1Keyframe, []byte{0x0a, 0x01, 0x18, 0x32, 0x01, 0xff}, true},
		{"AV1 size past the end", av1Keyframe, []byte{0x32, 0x05, 0x10}, false},
		{"AV1 unterminated leb128", av1Keyframe, []byte{0x32, 0x80}, false},
		{"AV1 no frame", av1Keyframe, []byte{0x12, 0x00}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.keyframe(tt.frame); got != tt.want {
				t.Errorf("keyframe(% x) = %t, want %t", tt.frame, got, tt.want)
			}
		})
	}
}

func TestLoadIVF(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		fourCC   string
		num, den uint32 // timebase: num/den seconds
		pts      []uint64
		empty    int // index of an empty frame, or -1
		wantMime string
		wantDur  []time.Duration
		wantErr  error
	}{
		{
			name: "30 fps", fourCC: "VP80", num: 1, den: 30, pts: []uint64{0, 1, 2}, empty: -1,
			wantMime: webrtc.MimeTypeVP8,
			wantDur:  []time.Duration{33333333, 33333333, 33333334},
		},
		{
			name: "millisecond timebase, uneven frames", fourCC: "VP90", num: 1, den: 1000,
			pts: []uint64{0, 33, 67, 100}, empty: -1,
			wantMime: webrtc.MimeTypeVP9,
			wantDur:  []time.Duration{33 * ms, 34 * ms, 33 * ms, 33 * ms},
		},
		{
			name: "NTSC 29.97 fps", fourCC: "AV01", num: 1001, den: 30000, pts: []uint64{0, 1}, empty: -1,
			wantMime: webrtc.MimeTypeAV1,
			wantDur:  []time.Duration{33366666, 33366667},
		},
		{
			name: "one frame lasts one timebase unit", fourCC: "VP80", num: 1, den: 25, pts: []uint64{7}, empty: -1,
			wantMime: webrtc.MimeTypeVP8,
			wantDur:  []time.Duration{40 * ms},
		},
		{name: "timestamps repeat", fourCC: "VP80", num: 1, den: 30, pts: []uint64{0, 1, 1}, empty: -1, wantErr: ErrMalformed},
		{name: "timestamps go back", fourCC: "VP80", num: 1, den: 30, pts: []uint64{0, 2, 1}, empty: -1, wantErr: ErrMalformed},
		{name: "zero timebase numerator", fourCC: "VP80", num: 0, den: 30, pts: []uint64{0}, empty: -1, wantErr: ErrMalformed},
		{name: "empty frame", fourCC: "VP80", num: 1, den: 30, pts: []uint64{0, 1}, empty: 1, wantErr: ErrMalformed},
		{name: "H.264", fourCC: "H264", num: 1, den: 30, pts: []uint64{0}, empty: -1, wantErr: ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ivfHeader(tt.fourCC, tt.num, tt.den, len(tt.pts))
			for i, pts := range tt.pts {
				frame := []byte{0x10, 0x02, 0x00} // a VP8 key frame tag
				if i == tt.empty {
					frame = nil
				}
				file = binary.LittleEndian.AppendUint32(file, uint32(len(frame)))
				file = binary.LittleEndian.AppendUint64(file, pts)
				file = append(file, frame...)
			}
			c, err := loadIVF(file)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("loadIVF error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadIVF: %v", err)
			}
			if c.mimeType != tt.wantMime || c.clockRate != videoClockRate {
				t.Errorf("codec %s at %d Hz, want %s at %d Hz", c.mimeType, c.clockRate, tt.wantMime, videoClockRate)
			}
			var durs []time.Duration
			for _, f := range c.frames {
				durs = append(durs, f.Sample.Duration)
			}
			if !slices.Equal(durs, tt.wantDur) {
				t.Errorf("durations %v, want %v", durs, tt.wantDur)
			}
		})
	}
}

func TestTimebaseAt(t *testing.T) {
	tests := []struct {
		tb   timebase
		pts  uint64
		want time.Duration
	}{
		{timebase{1, 30}, 300, 10 * time.Second},
		{timebase{1, 30}, 1, 33333333},
		{timebase{1001, 30000}, 30000, 1001 * time.Second},
		{timebase{1, 90000}, 90000 * 3600, time.Hour},
		{timebase{1, 1000}, 1<<40 + 1, (1<<40 + 1) * time.Millisecond},
	}
	for _, tt := range tests {
		if got := tt.tb.at(tt.pts); got != tt.want {
			t.Errorf("timebase %d/%d at %d = %v, want %v", tt.tb.num, tt.tb.den, tt.pts, got, tt.want)
		}
	}
}

// ivfHeader is a 32-byte IVF file header
// (https://wiki.multimedia.cx/index.php/IVF).
func ivfHeader(fourCC string, num, den uint32, frames int) []byte {
	b := []byte("DKIF")
	b = binary.LittleEndian.AppendUint16(b, 0)  // version
	b = binary.LittleEndian.AppendUint16(b, 32) // header size
	b = append(b, fourCC...)
	b = binary.LittleEndian.AppendUint16(b, 640)
	b = binary.LittleEndian.AppendUint16(b, 360)
	b = binary.LittleEndian.AppendUint32(b, den) // rate
	b = binary.LittleEndian.AppendUint32(b, num) // scale
	b = binary.LittleEndian.AppendUint32(b, uint32(frames))
	return binary.LittleEndian.AppendUint32(b, 0)
}
