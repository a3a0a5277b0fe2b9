package agent

import (
	"bytes"
	"testing"

	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/sframe"
)

func TestClearBytes(t *testing.T) {
	key := []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0xaa, 0xbb}
	cases := []struct {
		mime  string
		frame []byte
		want  int
	}{
		{"video/VP8", key, 10},
		{"video/vp8", []byte{0x31, 0x02, 0x00, 0x44, 0x55}, 3},
		{"video/vp8", []byte{0x31}, 1},
		{"audio/opus", []byte{0xfc, 0xff, 0xfe}, 1},
		{"video/H264", []byte{0, 0, 0, 1, 0x65}, 0},
		{"audio/opus", nil, 0},
	}
	for _, c := range cases {
		if got := ClearBytes(c.mime, c.frame); got != c.want {
			t.Errorf("%s %x: %d clear bytes, want %d", c.mime, c.frame, got, c.want)
		}
	}
}

// A sealed VP8 keyframe keeps its 10 clear bytes (so the SFU and the
// receiver still see a keyframe), hides the rest, and opens only with
// the same secret; every frame gets a new CTR.
func TestSealOpen(t *testing.T) {
	frame := append([]byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}, bytes.Repeat([]byte("picture"), 20)...)
	for _, suite := range []sframe.Suite{0, sframe.AES128CTRHMACSHA256_80} {
		s, err := newSealer(&E2EE{Secret: []byte("room"), KID: 4, Suite: suite})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := s.seal("video/vp8", frame)
		b, _ := s.seal("video/vp8", frame)
		if bytes.Equal(a, b) || !bytes.Equal(a[:10], frame[:10]) || bytes.Contains(a, []byte("picture")) {
			t.Fatalf("%v: sealed %x", suite, a)
		}
		if !clip.IsKeyframe("video/VP8", a) {
			t.Errorf("%v: the sealed keyframe is no longer seen as one", suite)
		}
		right, _ := newOpener(&E2EE{Secret: []byte("room"), Suite: suite})
		wrong, _ := newOpener(&E2EE{Secret: []byte("other"), Suite: suite})
		for i, f := range [][]byte{a, b} {
			if got, err := right.open("video/vp8", f); err != nil || !bytes.Equal(got, frame) {
				t.Errorf("%v frame %d: %v", suite, i, err)
			}
			if _, err := wrong.open("video/vp8", f); err == nil {
				t.Errorf("%v frame %d opened with another secret", suite, i)
			}
		}
		if _, err := right.open("video/vp8", a); err == nil {
			t.Errorf("%v: a replayed frame opened", suite)
		}
	}
}
