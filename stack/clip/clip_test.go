package clip_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/stack/clip"
)

const (
	vp8Clip  = "testdata/clips/video-vp8.ivf"
	opusClip = "testdata/clips/audio-opus.ogg"
)

func TestOpenEmbeddedClips(t *testing.T) {
	tests := []struct {
		name       string
		mimeType   string
		kind       string
		clockRate  uint32
		channels   uint16
		minFrames  int
		maxFrames  int
		sampleDur  time.Duration // every sample lasts this long, within 1 µs
		minTotal   time.Duration
		maxTotal   time.Duration
		allKeyRate bool // every frame is a keyframe
	}{
		{
			name: vp8Clip, mimeType: webrtc.MimeTypeVP8, kind: clip.KindVideo, clockRate: 90000,
			minFrames: 300, maxFrames: 300, sampleDur: time.Second / 30,
			minTotal: 10 * time.Second, maxTotal: 10 * time.Second,
		},
		{
			// 10 s of audio plus the encoder's 312-sample pre-skip, rounded
			// up to whole 20 ms packets.
			name: opusClip, mimeType: webrtc.MimeTypeOpus, kind: clip.KindAudio, clockRate: 48000, channels: 2,
			minFrames: 500, maxFrames: 501, sampleDur: 20 * time.Millisecond,
			minTotal: 10 * time.Second, maxTotal: 10*time.Second + 20*time.Millisecond,
			allKeyRate: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := clip.Open(rtclab.Clips, tt.name)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if c.Name() != tt.name {
				t.Errorf("Name() = %q, want %q", c.Name(), tt.name)
			}
			if c.MimeType() != tt.mimeType || c.Kind() != tt.kind || c.ClockRate() != tt.clockRate {
				t.Errorf("MimeType, Kind, ClockRate = %q, %q, %d; want %q, %q, %d",
					c.MimeType(), c.Kind(), c.ClockRate(), tt.mimeType, tt.kind, tt.clockRate)
			}
			wantCap := webrtc.RTPCodecCapability{MimeType: tt.mimeType, ClockRate: tt.clockRate, Channels: tt.channels}
			if got := c.Capability(); got.MimeType != wantCap.MimeType || got.ClockRate != wantCap.ClockRate ||
				got.Channels != wantCap.Channels || got.SDPFmtpLine != "" {
				t.Errorf("Capability() = %+v, want %+v", got, wantCap)
			}
			if n := c.Frames(); n < tt.minFrames || n > tt.maxFrames {
				t.Errorf("Frames() = %d, want %d..%d", n, tt.minFrames, tt.maxFrames)
			}
			if d := c.Duration(); d < tt.minTotal || d > tt.maxTotal {
				t.Errorf("Duration() = %v, want %v..%v", d, tt.minTotal, tt.maxTotal)
			}

			p := c.Player()
			var sum time.Duration
			for i := range c.Frames() {
				f := p.NextFrame()
				if f.Index != i {
					t.Fatalf("frame %d has Index %d", i, f.Index)
				}
				if len(f.Sample.Data) == 0 {
					t.Errorf("frame %d is empty", i)
				}
				if diff := f.Sample.Duration - tt.sampleDur; diff < -time.Microsecond || diff > time.Microsecond {
					t.Errorf("frame %d lasts %v, want %v", i, f.Sample.Duration, tt.sampleDur)
				}
				if tt.allKeyRate && !f.Keyframe {
					t.Errorf("frame %d is not a keyframe", i)
				}
				sum += f.Sample.Duration
			}
			if sum != c.Duration() {
				t.Errorf("sample durations add up to %v, Duration() = %v", sum, c.Duration())
			}
		})
	}
}

// The script encodes with -g 90 -keyint_min 90: a keyframe every 3 s.
func TestVP8Keyframes(t *testing.T) {
	c, err := clip.Open(rtclab.Clips, vp8Clip)
	if err != nil {
		t.Fatal(err)
	}
	var keys []int
	p := c.Player()
	for range c.Frames() {
		if f := p.NextFrame(); f.Keyframe {
			keys = append(keys, f.Index)
		}
	}
	want := []int{0, 90, 180, 270}
	if !slices.Equal(keys, want) {
		t.Errorf("keyframes at %v, want %v", keys, want)
	}
}

func TestPlayerLoops(t *testing.T) {
	for _, name := range []string{vp8Clip, opusClip} {
		t.Run(name, func(t *testing.T) {
			c, err := clip.Open(rtclab.Clips, name)
			if err != nil {
				t.Fatal(err)
			}
			n := c.Frames()
			p, other := c.Player(), c.Player()
			first := other.NextFrame()
			for pass := range 3 {
				for i := range n {
					f := p.NextFrame()
					if f.Index != i {
						t.Fatalf("pass %d: frame %d has Index %d", pass, i, f.Index)
					}
					if i == 0 && (!bytes.Equal(f.Sample.Data, first.Sample.Data) || f.Sample.Duration != first.Sample.Duration || !f.Keyframe) {
						t.Fatalf("pass %d does not restart at the first frame (keyframe %t)", pass, f.Keyframe)
					}
				}
			}
			// Players are independent: other has only moved one frame.
			if f := other.NextFrame(); f.Index != 1 {
				t.Errorf("second player at frame %d, want 1", f.Index)
			}
			if s := p.Next(); !bytes.Equal(s.Data, first.Sample.Data) {
				t.Error("Next() after whole passes is not the first frame's sample")
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	vp8, err := fs.ReadFile(rtclab.Clips, vp8Clip)
	if err != nil {
		t.Fatal(err)
	}
	opus, err := fs.ReadFile(rtclab.Clips, opusClip)
	if err != nil {
		t.Fatal(err)
	}
	h264 := bytes.Clone(vp8[:32])
	copy(h264[8:12], "H264")
	// The OpusHead and OpusTags pages without any audio page: cut before
	// the third "OggS" capture pattern.
	tagsPage := 4 + bytes.Index(opus[4:], []byte("OggS"))
	headersOnly := opus[:tagsPage+4+bytes.Index(opus[tagsPage+4:], []byte("OggS"))]

	fsys := fstest.MapFS{
		"clip.mp4":           {Data: vp8},
		"garbage.ivf":        {Data: []byte("this is not an IVF file, not at all")},
		"h264.ivf":           {Data: h264},
		"header-only.ivf":    {Data: vp8[:32]},
		"truncated.ivf":      {Data: vp8[:len(vp8)/2]},
		"garbage.ogg":        {Data: []byte("this is not an Ogg file, not at all")},
		"video.ogg":          {Data: vp8},
		"truncated.ogg":      {Data: opus[:len(opus)/2]},
		"headers-only.opus":  {Data: headersOnly},
		"corrupt-crc.ogg":    {Data: flipByte(opus, len(opus)-10)},
		"noext":              {Data: vp8},
		"uppercase-ok.IVF":   {Data: vp8},
		"uppercase-ok.OPUS":  {Data: opus},
		"clips/renamed.ogg":  {Data: opus},
		"clips/renamed.webm": {Data: vp8},
	}
	tests := []struct {
		name string
		want error // nil: any error; errOK: no error at all
	}{
		{"missing.ivf", fs.ErrNotExist},
		{"clip.mp4", clip.ErrUnknownFormat},
		{"noext", clip.ErrUnknownFormat},
		{"clips/renamed.webm", clip.ErrUnknownFormat},
		{"garbage.ivf", nil},
		{"h264.ivf", clip.ErrUnsupported},
		{"header-only.ivf", clip.ErrEmpty},
		{"truncated.ivf", nil},
		{"garbage.ogg", clip.ErrMalformed},
		{"video.ogg", clip.ErrMalformed},
		{"truncated.ogg", nil},
		{"headers-only.opus", clip.ErrEmpty},
		{"corrupt-crc.ogg", nil},
		{"uppercase-ok.IVF", errOK},
		{"uppercase-ok.OPUS", errOK},
		{"clips/renamed.ogg", errOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := clip.Open(fsys, tt.name)
			if tt.want == errOK {
				if err != nil || c == nil {
					t.Fatalf("Open = %v, %v; want a clip", c, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Open succeeded with %d frames, want an error", c.Frames())
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Open error %q does not wrap %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.name) {
				t.Errorf("Open error %q does not name the file", err)
			}
		})
	}
}

var errOK = errors.New("no error expected")

func flipByte(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0xff
	return b
}

func TestOpenH264(t *testing.T) {
	c, err := clip.Open(rtclab.Clips, "testdata/clips/video-h264.h264")
	if err != nil {
		t.Fatal(err)
	}
	if c.Frames() != 300 || c.MimeType() != "video/H264" {
		t.Fatalf("frames %d mime %s, want 300 video/H264", c.Frames(), c.MimeType())
	}
	var keys []int
	for i := 0; i < c.Frames(); i++ {
		if c.Keyframe(i) {
			keys = append(keys, i)
		}
	}
	if fmt.Sprint(keys) != "[0 90 180 270]" {
		t.Fatalf("keyframes at %v, want [0 90 180 270]", keys)
	}
}

func TestSkipToKeyframe(t *testing.T) {
	c, err := clip.Open(rtclab.Clips, "testdata/clips/video-vp8.ivf")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Player()
	for range 5 {
		p.NextFrame()
	}
	p.SkipToKeyframe()
	if f := p.NextFrame(); f.Index != 90 || !f.Keyframe {
		t.Fatalf("after skip got frame %d (key %v), want keyframe 90", f.Index, f.Keyframe)
	}
}

// Every video clip of the codec matrix and of simulcast has 300 frames at
// 30 fps with keyframes at the same positions, so layers and codecs can be
// switched and compared frame by frame.
func TestVideoClipsAlign(t *testing.T) {
	for _, name := range []string{"video-vp8.ivf", "video-vp8-q.ivf", "video-vp8-h.ivf", "video-vp9.ivf", "video-av1.ivf", "video-h264.h264"} {
		t.Run(name, func(t *testing.T) {
			c, err := clip.Open(rtclab.Clips, "testdata/clips/"+name)
			if err != nil {
				t.Fatal(err)
			}
			var keys []int
			for i := 0; i < c.Frames(); i++ {
				if c.Keyframe(i) {
					keys = append(keys, i)
				}
			}
			if c.Frames() != 300 || fmt.Sprint(keys) != "[0 90 180 270]" || c.Duration() < 9990*time.Millisecond || c.Duration() > 10010*time.Millisecond {
				t.Fatalf("%d frames, keyframes %v, duration %v; want 300, [0 90 180 270], 10s", c.Frames(), keys, c.Duration())
			}
		})
	}
}

func TestIsKeyframe(t *testing.T) {
	for _, tt := range []struct {
		mime  string
		frame []byte
		want  bool
	}{
		{"video/VP8", []byte{0x10}, true},
		{"video/VP8", []byte{0x11}, false},
		{"video/H264", []byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x65, 0x88}, true},
		{"video/H264", []byte{0, 0, 0, 1, 0x41, 0x9a}, false},
		{"audio/opus", []byte{0xfc}, true},
		{"AUDIO/OPUS", []byte{0xfc}, true},
		{"video/vp8", []byte{0x10}, true},
		{"audio", []byte{0xfc}, false},
		{"video/unknown", []byte{0}, false},
	} {
		if got := clip.IsKeyframe(tt.mime, tt.frame); got != tt.want {
			t.Errorf("IsKeyframe(%s, % x) = %v, want %v", tt.mime, tt.frame, got, tt.want)
		}
	}
}
