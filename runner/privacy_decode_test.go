package runner

import (
	"crypto/rand"
	"math"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	rtclab "github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/stack/agent"
	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/sframe"
)

func vp8Clip(t testing.TB, name string) *clip.Clip {
	t.Helper()
	c, err := clip.Open(rtclab.Clips, "testdata/clips/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// firstKeyframe returns the clip's first frame (a keyframe) and a delta
// frame.
func clipFrames(t testing.TB, c *clip.Clip) (key, delta []byte) {
	t.Helper()
	p := c.Player()
	key = p.NextFrame().Sample.Data
	delta = p.NextFrame().Sample.Data
	if !c.Keyframe(0) || c.Keyframe(1) {
		t.Fatal("want a keyframe then a delta frame")
	}
	return key, delta
}

// packetize splits a frame into RTP packets as the agents' VP8 payloader
// does, from sequence number seq.
func packetize(frame []byte, ssrc uint32, seq uint16, ts uint32) []*rtp.Packet {
	var out []*rtp.Packet
	payloads := (&codecs.VP8Payloader{}).Payload(1100, frame)
	for i, p := range payloads {
		out = append(out, &rtp.Packet{Header: rtp.Header{SSRC: ssrc, SequenceNumber: seq + uint16(i), Timestamp: ts, Marker: i == len(payloads)-1}, Payload: p})
	}
	return out
}

// sealFrame encrypts a VP8 frame as the agents' e2ee does: its clear
// bytes, then SFrame.
func sealFrame(t *testing.T, frame []byte) []byte {
	t.Helper()
	ctx, err := sframe.NewContext(sframe.AES128GCMSHA256_128)
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.AddKey(1, []byte("k")); err != nil {
		t.Fatal(err)
	}
	n := agent.ClearBytes("video/vp8", frame)
	out, err := ctx.Encrypt(append([]byte(nil), frame[:n]...), 1, 0, frame[:n], frame[n:])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A keyframe is kept only when all its packets came in order; what the
// decoder then makes of it decides readability: the plaintext is the
// sender's picture, the same keyframe sealed with e2ee (its first 10
// bytes in clear) or with random bytes after the header does not decode.
func TestHopFrames(t *testing.T) {
	c := vp8Clip(t, "video-vp8.ivf")
	key, delta := clipFrames(t, c)
	sealed := sealFrame(t, key)
	garbage := append([]byte(nil), key...)
	_, _ = rand.Read(garbage[10:])
	cases := []struct {
		name          string
		frame         []byte
		edit          func([]*rtp.Packet) []*rtp.Packet
		kept, decoded bool
		matches       bool
	}{
		{name: "plain keyframe", frame: key, kept: true, decoded: true, matches: true},
		{name: "delta frame", frame: delta},
		{name: "a packet lost", frame: key, edit: func(p []*rtp.Packet) []*rtp.Packet { return append(p[:1], p[2:]...) }},
		{name: "reordered", frame: key, edit: func(p []*rtp.Packet) []*rtp.Packet { p[1], p[2] = p[2], p[1]; return p }},
		{name: "no marker", frame: key, edit: func(p []*rtp.Packet) []*rtp.Packet { return p[:len(p)-1] }},
		{name: "sealed keyframe", frame: sealed, kept: true},
		{name: "random after the header", frame: garbage, kept: true},
	}
	for _, tc := range cases {
		pkts := packetize(tc.frame, 5, 100, 9000)
		if len(pkts) < 3 && tc.edit != nil {
			t.Fatalf("%s: %d packets", tc.name, len(pkts))
		}
		if tc.edit != nil {
			pkts = tc.edit(pkts)
		}
		var h hopFrames
		for _, p := range pkts {
			h.vp8Packet(&p.Header, p.Payload)
		}
		if got := len(h.kept) == 1; got != tc.kept {
			t.Errorf("%s: kept %d frames, want kept %v", tc.name, len(h.kept), tc.kept)
			continue
		}
		if !tc.kept {
			continue
		}
		src := sourcePictures{clips: []*clip.Clip{vp8Clip(t, "video-vp8-q.ivf"), c}}
		dec, match := src.readable(h.kept[0])
		if dec != tc.decoded || match != tc.matches {
			t.Errorf("%s: decoded %v matches %v, want %v %v", tc.name, dec, match, tc.decoded, tc.matches)
		}
	}
}

func TestLumaPSNR(t *testing.T) {
	c := vp8Clip(t, "video-vp8.ivf")
	var src sourcePictures
	src.clips = []*clip.Clip{c}
	a, b := src.nextPicture(), src.nextPicture()
	if a == nil || b == nil {
		t.Fatal("want two keyframes")
	}
	if p := lumaPSNR(a, a); !math.IsInf(p, 1) {
		t.Errorf("a picture against itself: %v dB", p)
	}
	if p := lumaPSNR(a, b); p >= matchPSNR {
		t.Errorf("two keyframes 3 s apart: %.1f dB, want below %v", p, matchPSNR)
	}
	q := sourcePictures{clips: []*clip.Clip{vp8Clip(t, "video-vp8-q.ivf")}}
	if p := lumaPSNR(a, q.nextPicture()); p != 0 {
		t.Errorf("different sizes: %v dB", p)
	}
}

// BenchmarkHopDecode is the cost the privacy section adds to a report
// per keyframe a hop carried: a VP8 decode and a comparison with the
// sender's first keyframe.
func BenchmarkHopDecode(b *testing.B) {
	c := vp8Clip(b, "video-vp8.ivf")
	key, _ := clipFrames(b, c)
	src := sourcePictures{clips: []*clip.Clip{c}}
	for b.Loop() {
		if _, ok := src.readable(key); !ok {
			b.Fatal("not readable")
		}
	}
}
