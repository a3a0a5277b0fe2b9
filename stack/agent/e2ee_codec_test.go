package agent

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/sframe"
)

func TestClearBytesVP9H264(t *testing.T) {
	vp9Key := []byte{0x82, 0x49, 0x83, 0x42, 0x00, 0x13, 0xf0, 0x0b, 0x38, 0xf6, 0xaa, 0xbb, 0xcc}
	vp9Inter := []byte{0x86, 0x00, 0x40, 0x92, 0x88}
	h264 := []byte{0, 0, 0, 1, 0x67, 0x42, 0xe0, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00}
	for _, c := range []struct {
		name, mime string
		frame      []byte
		want       int
	}{
		{"vp9 key frame", "video/VP9", vp9Key, 10},
		{"vp9 inter frame", "video/vp9", vp9Inter, 2},
		{"vp9 short", "video/vp9", vp9Inter[:1], 1},
		{"h264: SPS and PPS in clear, then the IDR slice's NAL header", "video/h264", h264, 18},
		{"h264: a 3-byte start code", "video/h264", []byte{0, 0, 1, 0x41, 0x9a, 0x02}, 4},
		{"h264 without a slice", "video/h264", h264[:15], 0},
		{"av1: nothing", "video/AV1", []byte{0x12, 0x00, 0x0a}, 0},
	} {
		if got := ClearBytes(c.mime, c.frame); got != c.want {
			t.Errorf("%s: %d clear bytes, want %d", c.name, got, c.want)
		}
	}
}

// Escaping leaves no start code and no 00 00 00 in what it writes, and
// unescaping gives the bytes back, for runs of zeros and bytes 0..3 most
// of all.
func TestEscape(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := [][]byte{nil, {0}, {0, 0}, {0, 0, 0}, {0, 0, 1}, {0, 0, 3}, {0, 0, 3, 0, 0, 2}, {7, 0, 0}, bytes.Repeat([]byte{0}, 9)}
	for range 500 {
		b := make([]byte, r.IntN(64))
		for i := range b {
			b[i] = byte(r.IntN(5)) // mostly 0..3
		}
		cases = append(cases, b)
	}
	for _, b := range cases {
		e := appendEscaped(nil, b)
		for i := 0; i+2 < len(e); i++ {
			if e[i] == 0 && e[i+1] == 0 && e[i+2] <= 2 {
				t.Fatalf("%x escaped to %x: 00 00 %02x at %d", b, e, e[i+2], i)
			}
		}
		if back := unescape(e); !bytes.Equal(back, b) {
			t.Fatalf("%x -> %x -> %x", b, e, back)
		}
	}
}

// roundTrip sends a sealed frame through pion's payloader and
// depacketizer for mime, as the agent and the receiver do, and returns
// what comes out.
func roundTrip(t *testing.T, mime string, frame []byte) []byte {
	t.Helper()
	var pay rtp.Payloader
	var dep rtp.Depacketizer
	switch mime {
	case "video/h264":
		pay, dep = &codecs.H264Payloader{}, &codecs.H264Packet{}
	case "video/vp9":
		pay, dep = &codecs.VP9Payloader{}, &codecs.VP9Packet{}
	}
	var out []byte
	for _, p := range pay.Payload(1200, frame) {
		b, err := dep.Unmarshal(p)
		if err != nil {
			t.Fatalf("%s depacketize: %v", mime, err)
		}
		out = append(out, b...)
	}
	return out
}

// Every frame of the H.264 and VP9 clips, sealed, crosses pion's
// payloader and depacketizer unchanged (H.264: no start code appears in
// the ciphertext, so the packetizer keeps it in one NAL unit; VP9: the
// payloader can still parse the uncompressed header), keeps what the
// SFU and the receiver's assembler read (a keyframe is still seen as
// one), hides the rest, and opens to the original frame.
func TestSealOpenClips(t *testing.T) {
	for _, c := range []struct{ mime, file string }{
		{"video/h264", "testdata/clips/video-h264.h264"},
		{"video/vp9", "testdata/clips/video-vp9.ivf"},
	} {
		src, err := clip.Open(rtclab.Clips, c.file)
		if err != nil {
			t.Fatal(err)
		}
		s, err := newSealer(&E2EE{Secret: []byte("room"), KID: 1})
		if err != nil {
			t.Fatal(err)
		}
		o, err := newOpener(&E2EE{Secret: []byte("room")})
		if err != nil {
			t.Fatal(err)
		}
		play, keys := src.Player(), 0
		for range src.Frames() {
			frame := play.NextFrame().Sample.Data
			sealed, err := s.seal(c.mime, frame)
			if err != nil {
				t.Fatalf("%s: %v", c.mime, err)
			}
			if n := ClearBytes(c.mime, frame); !bytes.Equal(sealed[:n], frame[:n]) || bytes.Contains(sealed[n:], frame[n:min(len(frame), n+16)]) {
				t.Fatalf("%s: the clear part changed or the rest shows", c.mime)
			}
			got := roundTrip(t, c.mime, sealed)
			if !bytes.Equal(got, sealed) {
				t.Fatalf("%s: %d sealed bytes came out of pion's packetizer as %d different ones", c.mime, len(sealed), len(got))
			}
			if clip.IsKeyframe(c.mime, got) != clip.IsKeyframe(c.mime, frame) {
				t.Fatalf("%s: keyframe %v sealed as %v", c.mime, clip.IsKeyframe(c.mime, frame), clip.IsKeyframe(c.mime, got))
			}
			if clip.IsKeyframe(c.mime, frame) {
				keys++
			}
			plain, err := o.open(c.mime, got)
			if err != nil || !bytes.Equal(plain, frame) {
				t.Fatalf("%s: opened %d bytes (%v), want the %d of the frame", c.mime, len(plain), err, len(frame))
			}
		}
		if keys == 0 || src.Frames() < 100 {
			t.Errorf("%s: %d frames, %d keyframes", c.mime, src.Frames(), keys)
		}
	}
}

func FuzzUnescape(f *testing.F) {
	f.Add([]byte{0, 0, 3, 1, 0, 0, 3, 3, 0})
	f.Add([]byte{0x65, 0x88, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if back := unescape(appendEscaped(nil, b)); !bytes.Equal(back, b) {
			t.Fatalf("%x came back as %x", b, back)
		}
		_ = unescape(b) // what a receiver is sent: never panics
	})
}

// A frame whose ciphertext would hold a start code and a run of zeros:
// AES-GCM encrypts by XOR with a key stream (the same for the same key,
// KID and CTR), so sealing zeros first gives the stream, and a second
// frame made of it XOR 00 00 01 ... seals to exactly those bytes. Unescaped, pion's
// payloader would split the ciphertext there into two NAL units and the
// receiver would get other bytes; escaped, the frame crosses unchanged.
func TestSealH264StartCodeInCiphertext(t *testing.T) {
	prefix := []byte{0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1, 0x65}
	const at = 40 // where in the encrypted part the start code falls
	zeros := append(append([]byte(nil), prefix...), make([]byte, 200)...)
	e := &E2EE{Secret: []byte("room"), KID: 1}
	probe, _ := newSealer(e)
	stream, err := probe.seal("video/h264", zeros)
	if err != nil {
		t.Fatal(err)
	}
	stream = unescape(stream[len(prefix):])
	_, _, hlen, _ := sframe.ParseHeader(stream)
	ks := stream[hlen:] // the key stream over the 200 zero bytes
	want := []byte{0, 0, 1, 0, 0, 0, 0, 0, 2}
	frame := append([]byte(nil), zeros...)
	for i, w := range want {
		frame[len(prefix)+at+i] = ks[at+i] ^ w
	}
	s, _ := newSealer(e) // the same key, KID and CTR as the probe
	sealed, err := s.seal("video/h264", frame)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unescape(sealed[len(prefix):]), want) {
		t.Fatalf("the ciphertext does not hold %x: the test did not build its case", want)
	}
	got := roundTrip(t, "video/h264", sealed)
	if !bytes.Equal(got, sealed) {
		t.Fatalf("%d sealed bytes came out of pion's packetizer as %d different ones", len(sealed), len(got))
	}
	o, _ := newOpener(&E2EE{Secret: []byte("room")})
	if plain, err := o.open("video/h264", got); err != nil || !bytes.Equal(plain, frame) {
		t.Fatalf("opened %d bytes (%v), want the frame's %d", len(plain), err, len(frame))
	}
}
