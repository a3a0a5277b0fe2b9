package peer

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Codec names a scenario may use, as lower-case words.
const (
	CodecOpus = "opus"
	CodecVP8  = "vp8"
	CodecVP9  = "vp9"
	CodecH264 = "h264"
	CodecAV1  = "av1"
)

// codecEntry is one codec rtclab registers, with its RTX companion.
type codecEntry struct {
	name string
	cap  webrtc.RTPCodecCapability
	pt   webrtc.PayloadType
	rtx  webrtc.PayloadType // 0: no RTX
	kind webrtc.RTPCodecType
}

// H264Fmtp is the H.264 format every rtclab endpoint signals: constrained
// baseline level 3.1, non-interleaved packetization (RFC 6184 section
// 8.1), the profile every WebRTC endpoint must accept (RFC 7742 section 6.2).
const H264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// codecTable lists every codec rtclab can negotiate, with the payload
// types browsers commonly use.
var codecTable = []codecEntry{
	{CodecOpus, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, 111, 0, webrtc.RTPCodecTypeAudio},
	{CodecVP8, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, 96, 97, webrtc.RTPCodecTypeVideo},
	{CodecVP9, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0"}, 98, 99, webrtc.RTPCodecTypeVideo},
	{CodecH264, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: H264Fmtp}, 102, 103, webrtc.RTPCodecTypeVideo},
	{CodecAV1, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}, 45, 46, webrtc.RTPCodecTypeVideo},
}

// Codecs returns every codec name rtclab knows, audio first.
func Codecs() []string {
	out := make([]string, len(codecTable))
	for i, c := range codecTable {
		out[i] = c.name
	}
	return out
}

// CodecMimeType returns the MIME type of a codec name ("vp9" ->
// "video/VP9"), or "" when the name is unknown.
func CodecMimeType(name string) string {
	for _, c := range codecTable {
		if c.name == strings.ToLower(name) {
			return c.cap.MimeType
		}
	}
	return ""
}

// CodecCapability returns the capability rtclab signals for a MIME type,
// fmtp included (H.264 needs it to match).
func CodecCapability(mimeType string) (webrtc.RTPCodecCapability, bool) {
	for _, c := range codecTable {
		if strings.EqualFold(c.cap.MimeType, mimeType) {
			return c.cap, true
		}
	}
	return webrtc.RTPCodecCapability{}, false
}

// registerCodecs registers the named codecs (all when names is empty) in
// the order given, which is the order of preference in offers and answers
// (RFC 3264 section 6.1). An audio-only or video-only list still gets the
// other kind's codecs, so that a list about video never refuses audio.
func registerCodecs(m *webrtc.MediaEngine, names []string) error {
	order := names
	if len(order) == 0 {
		order = Codecs()
	}
	kinds := map[webrtc.RTPCodecType]bool{}
	var chosen []codecEntry
	for _, n := range order {
		found := false
		for _, c := range codecTable {
			if c.name == strings.ToLower(n) {
				chosen = append(chosen, c)
				kinds[c.kind] = true
				found = true
			}
		}
		if !found {
			return fmt.Errorf("peer: unknown codec %q (known: %s)", n, strings.Join(Codecs(), ", "))
		}
	}
	for _, c := range codecTable {
		if !kinds[c.kind] {
			chosen = append(chosen, c)
		}
	}
	for _, c := range chosen {
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: c.cap, PayloadType: c.pt}, c.kind); err != nil {
			return fmt.Errorf("peer codec %s: %w", c.name, err)
		}
		if c.rtx == 0 {
			continue
		}
		rtx := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", c.pt)}
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: rtx, PayloadType: c.rtx}, c.kind); err != nil {
			return fmt.Errorf("peer codec %s rtx: %w", c.name, err)
		}
	}
	return nil
}
