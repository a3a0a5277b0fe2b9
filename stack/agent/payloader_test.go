package agent

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// TestVP8PayloaderMatchesPion: frame after frame, through the picture ID's
// one- and two-byte forms and its wrap to 0, vp8Payloader's payloads equal
// pion's VP8Payloader's (with picture IDs, as TrackLocalStaticSample uses
// it), for frames smaller than, equal to and several times the MTU, empty
// frames, and MTUs too small for any payload.
func TestVP8PayloaderMatchesPion(t *testing.T) {
	for _, tc := range []struct {
		mtu    uint16
		frames int // 4 in 5 not empty: 42,000 wrap the 15-bit picture ID
	}{{1200 - 12, 42000}, {100, 1000}, {5, 300}, {4, 300}, {3, 300}, {1, 300}} {
		mtu := tc.mtu
		r := rand.New(rand.NewPCG(uint64(mtu), 7))
		ours, pions := &vp8Payloader{}, &codecs.VP8Payloader{EnablePictureID: true}
		for i := range tc.frames {
			var size int
			switch i % 5 {
			case 0:
				size = 0
			case 1:
				size = max(0, int(mtu)-3) // one packet exactly, with a 3-byte descriptor
			case 2:
				size = r.IntN(5000)
			default:
				size = r.IntN(300)
			}
			frame := make([]byte, size)
			for j := range frame {
				frame[j] = byte(i + 7*j)
			}
			want := pions.Payload(mtu, frame)
			got := ours.Payload(mtu, frame)
			if len(got) != len(want) {
				t.Fatalf("mtu %d frame %d (%d bytes): %d payloads, pion %d", mtu, i, size, len(got), len(want))
			}
			for k := range want {
				if !bytes.Equal(got[k], want[k]) {
					t.Fatalf("mtu %d frame %d payload %d: % x, pion % x", mtu, i, k, got[k][:min(8, len(got[k]))], want[k][:min(8, len(want[k]))])
				}
			}
		}
	}
}

// TestOpusPayloaderMatchesPion: one payload per packet, the packet's
// bytes, as pion's; nil gives none.
func TestOpusPayloaderMatchesPion(t *testing.T) {
	ours, pions := &opusPayloader{}, &codecs.OpusPayloader{}
	for i, packet := range [][]byte{nil, {}, {1}, bytes.Repeat([]byte{7}, 200), {2, 3}, bytes.Repeat([]byte{9}, 1500)} {
		got, want := ours.Payload(1188, packet), pions.Payload(1188, packet)
		if len(got) != len(want) {
			t.Fatalf("packet %d: %d payloads, pion %d", i, len(got), len(want))
		}
		for k := range want {
			if !bytes.Equal(got[k], want[k]) || (got[k] == nil) != (want[k] == nil) {
				t.Fatalf("packet %d payload %d: %v, pion %v", i, k, got[k], want[k])
			}
		}
	}
}

// TestWithPayloader: VP8 and Opus tracks get rtclab's payloaders, other
// codecs pion's.
func TestWithPayloader(t *testing.T) {
	for _, tc := range []struct {
		mime string
		want int
	}{{webrtc.MimeTypeOpus, 1}, {"video/vp8", 1}, {webrtc.MimeTypeVP9, 0}, {webrtc.MimeTypeH264, 0}, {webrtc.MimeTypeAV1, 0}} {
		if got := len(withPayloader(tc.mime)); got != tc.want {
			t.Errorf("a %s track got %d options, want %d", tc.mime, got, tc.want)
		}
	}
}

// BenchmarkVP8Payloader packetizes a 6 KB frame, as a quickstart video
// keyframe is, with pion's payloader and with vp8Payloader.
func BenchmarkVP8Payloader(b *testing.B) {
	frame := bytes.Repeat([]byte{0x5a}, 6000)
	for _, bc := range []struct {
		name string
		p    interface{ Payload(uint16, []byte) [][]byte }
	}{
		{"pion", &codecs.VP8Payloader{EnablePictureID: true}},
		{"reused", &vp8Payloader{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.p.Payload(1188, frame)
			}
		})
	}
}
