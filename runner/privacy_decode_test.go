package runner

import (
	"crypto/rand"
	"fmt"
	"math"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	rtclab "github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/scenarios"
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

// packetize splits a frame into RTP packets as the agents' payloader
// for its codec does, from sequence number seq, the last with the marker
// bit.
func packetize(mimeType string, frame []byte, ssrc uint32, seq uint16, ts uint32) []*rtp.Packet {
	var pl rtp.Payloader
	switch mimeType {
	case "video/vp8":
		pl = &codecs.VP8Payloader{}
	case "video/vp9":
		pl = &codecs.VP9Payloader{}
	default:
		pl = &codecs.H264Payloader{}
	}
	var out []*rtp.Packet
	payloads := pl.Payload(1100, frame)
	for i, p := range payloads {
		out = append(out, &rtp.Packet{Header: rtp.Header{SSRC: ssrc, SequenceNumber: seq + uint16(i), Timestamp: ts, Marker: i == len(payloads)-1}, Payload: p})
	}
	return out
}

// sealFrame encrypts a frame as the agents' e2ee does: its clear bytes,
// then SFrame.
func sealFrame(t *testing.T, mimeType string, frame []byte) []byte {
	t.Helper()
	ctx, err := sframe.NewContext(sframe.AES128GCMSHA256_128)
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.AddKey(1, []byte("k")); err != nil {
		t.Fatal(err)
	}
	n := agent.ClearBytes(mimeType, frame)
	out, err := ctx.Encrypt(append([]byte(nil), frame[:n]...), 1, 0, frame[:n], frame[n:])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A keyframe is kept only when all its packets came in order; then what
// it is decides readability. A VP8 keyframe is decoded: the plaintext is
// the sender's picture, the same keyframe sealed with e2ee (its first
// 10 bytes in clear) or with random bytes after the header does not
// decode. A VP9 or H.264 keyframe (no decoder in Go) is the sender's
// byte for byte or it is not: the old build read VP8 only, and a hop
// carrying either in plaintext was "not readable".
func TestHopFrames(t *testing.T) {
	for _, codec := range []struct{ mimeType, clip, other string }{
		{"video/vp8", "video-vp8.ivf", "video-vp8-q.ivf"},
		{"video/vp9", "video-vp9.ivf", "video-vp8.ivf"},
		{"video/h264", "video-h264.h264", "video-vp9.ivf"},
	} {
		t.Run(codec.mimeType, func(t *testing.T) {
			c := vp8Clip(t, codec.clip)
			key, delta := clipFrames(t, c)
			garbage := append([]byte(nil), key...)
			_, _ = rand.Read(garbage[10:])
			vp8 := codec.mimeType == "video/vp8"
			cases := []struct {
				name          string
				frame         []byte
				edit          func([]*rtp.Packet) []*rtp.Packet
				kept, decoded bool
				matches       bool
				unsure        bool // kept or not: what is left of the frame's structure decides
			}{
				{name: "plain keyframe", frame: key, kept: true, decoded: vp8, matches: true},
				{name: "delta frame", frame: delta},
				{name: "a packet lost", frame: key, edit: func(p []*rtp.Packet) []*rtp.Packet { return append(p[:1], p[2:]...) }},
				{name: "reordered", frame: key, edit: func(p []*rtp.Packet) []*rtp.Packet { p[1], p[2] = p[2], p[1]; return p }},
				{name: "no marker", frame: key, edit: func(p []*rtp.Packet) []*rtp.Packet { return p[:len(p)-1] }},
				{name: "sealed keyframe", frame: sealFrame(t, codec.mimeType, key), unsure: true},
				{name: "random after 10 bytes", frame: garbage, kept: codec.mimeType != "video/h264", unsure: codec.mimeType == "video/h264"},
			}
			for _, tc := range cases {
				// A delta frame first: an H.264 access unit starts after
				// the marker of the one before.
				head := packetize(codec.mimeType, delta, 5, 90, 6000)
				pkts := packetize(codec.mimeType, tc.frame, 5, 90+uint16(len(head)), 9000)
				if len(pkts) < 3 && tc.edit != nil {
					t.Fatalf("%s: %d packets", tc.name, len(pkts))
				}
				if tc.edit != nil {
					pkts = tc.edit(pkts)
				}
				var h hopFrames
				for _, p := range append(head, pkts...) {
					h.packet(codec.mimeType, &p.Header, p.Payload)
				}
				if got := len(h.kept) == 1; got != tc.kept && !tc.unsure {
					t.Errorf("%s: kept %d frames, want kept %v", tc.name, len(h.kept), tc.kept)
					continue
				}
				if len(h.kept) == 0 {
					continue
				}
				src := sourcePictures{clips: []*clip.Clip{vp8Clip(t, codec.other), c}}
				dec, match := src.readable(h.kept[0])
				if (dec != tc.decoded && !tc.unsure) || match != tc.matches {
					t.Errorf("%s: decoded %v matches %v, want %v %v", tc.name, dec, match, tc.decoded, tc.matches)
				}
			}
		})
	}
}

// The packets that start a keyframe, as the privacy section counts them
// per hop, of each codec: the plaintext's first packet of a keyframe and
// of no other frame; SRTP ciphertext (random bytes) of none.
func TestStartsKeyframe(t *testing.T) {
	for _, codec := range []struct{ mimeType, clip string }{
		{"video/vp8", "video-vp8.ivf"}, {"video/vp9", "video-vp9.ivf"}, {"video/h264", "video-h264.h264"},
	} {
		c := vp8Clip(t, codec.clip)
		key, delta := clipFrames(t, c)
		k, d := packetize(codec.mimeType, key, 1, 0, 0), packetize(codec.mimeType, delta, 1, 0, 0)
		if !startsKeyframe(codec.mimeType, k[0].Payload) {
			t.Errorf("%s: a keyframe's first packet does not start one", codec.mimeType)
		}
		for _, p := range append(k[1:], d...) {
			if startsKeyframe(codec.mimeType, p.Payload) {
				t.Errorf("%s: packet %d of a frame (%d bytes) starts a keyframe", codec.mimeType, p.SequenceNumber, len(p.Payload))
			}
		}
		n := 0
		b := make([]byte, 1100)
		for range 20000 {
			_, _ = rand.Read(b)
			if startsKeyframe(codec.mimeType, b) {
				n++
			}
		}
		if n > 2 {
			t.Errorf("%s: %d of 20000 random payloads start a keyframe", codec.mimeType, n)
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
		if _, ok := src.readable(keptFrame{"video/vp8", key}); !ok {
			b.Fatal("not readable")
		}
	}
}

// Through the SFU, which decrypts SRTP, VP9 and H.264 keyframes are as
// readable as VP8 ones: the SFU's plaintext holds the sender's keyframes
// byte for byte; end to end encrypted, it holds none, though their clear
// headers still parse as keyframes. On the old build
// the privacy section read VP8 only: a VP9 and H.264 call's SFU hop was
// missing, as if it had seen no video.
func TestPrivacyVP9H264(t *testing.T) {
	for _, video := range []string{"vp9", "h264"} {
		for _, e2ee := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s e2ee=%v", video, e2ee), func(t *testing.T) {
				add := "    video: " + video + "\n"
				if e2ee {
					add += "    e2ee: {key: \"correct horse battery staple\"}\n"
				}
				var replace []string
				for _, p := range []string{"alice", "bob"} { // both: no VP8 in the call
					replace = append(replace, "  - name: "+p+"\n", "  - name: "+p+"\n"+add)
				}
				rep := runPrivacy(t, privacyScenario(t, "privacy/sfu", "", replace...))
				h, ok := privacyHop(rep, scenarios.SFUHost)
				t.Logf("sfu hop %+v", h)
				switch {
				case !ok || h.VideoPackets < 300 || h.KeyframesTried == 0:
					t.Errorf("sfu hop %+v: want the video examined and its keyframes tried", h)
				case e2ee && h.Readable:
					// Their headers are in clear (Keyframes counts them),
					// the rest is not: tried, none the sender's.
					t.Errorf("sfu hop %+v: end to end encrypted, want none readable", h)
				case !e2ee && (!h.Readable || h.Keyframes == 0):
					t.Errorf("sfu hop %+v: the SFU's plaintext, want keyframes parsed and readable", h)
				}
			})
		}
	}
}
