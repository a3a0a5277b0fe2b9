package clip

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Media kinds returned by Clip.Kind; they match webrtc.RTPCodecType's
// String values.
const (
	KindAudio = "audio"
	KindVideo = "video"
)

// Clip is an encoded media clip held in memory. It is immutable after Open
// and safe for concurrent use; play it through a Player.
type Clip struct {
	name      string
	mimeType  string
	clockRate uint32
	channels  uint16
	frames    []Frame
	duration  time.Duration
}

// Frame is one sample of a clip, as a Player hands it out.
type Frame struct {
	// Sample carries the encoded frame (Data) and how long it plays
	// (Duration), ready for TrackLocalStaticSample.WriteSample. Data is
	// shared by every Player of the clip and must not be modified.
	Sample media.Sample
	// Keyframe reports whether the frame decodes on its own (a VP8/VP9/AV1
	// key frame). Every Opus packet is a keyframe.
	Keyframe bool
	// Index is the frame's position in the clip, from 0 to Frames()-1; it
	// starts again at 0 each time a Player loops.
	Index int
}

// Open reads the clip name from fsys, choosing the container by the file
// extension (.ivf, .ogg or .opus; see the package documentation), and loads
// every frame into memory. Errors name the file and wrap ErrUnknownFormat,
// ErrUnsupported, ErrMalformed, ErrEmpty or the underlying fs or
// container error.
func Open(fsys fs.FS, name string) (*Clip, error) {
	var load func([]byte) (*Clip, error)
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".ivf":
		load = loadIVF
	case ".ogg", ".opus":
		load = loadOggOpus
	case ".h264", ".264":
		load = loadH264
	default:
		return nil, fmt.Errorf("clip %s: %w %q (want .ivf, .h264, .ogg or .opus)", name, ErrUnknownFormat, ext)
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("clip %s: %w", name, err)
	}
	c, err := load(data)
	if err != nil {
		return nil, fmt.Errorf("clip %s: %w", name, err)
	}
	if len(c.frames) == 0 {
		return nil, fmt.Errorf("clip %s: %w", name, ErrEmpty)
	}
	c.name = name
	for i := range c.frames {
		c.frames[i].Index = i
		c.duration += c.frames[i].Sample.Duration
	}
	return c, nil
}

// Name returns the path the clip was opened from.
func (c *Clip) Name() string { return c.name }

// MimeType returns the codec, as one of pion's constants
// (webrtc.MimeTypeVP8, webrtc.MimeTypeVP9, webrtc.MimeTypeAV1,
// webrtc.MimeTypeOpus).
func (c *Clip) MimeType() string { return c.mimeType }

// Kind returns KindAudio or KindVideo.
func (c *Clip) Kind() string {
	if strings.HasPrefix(c.mimeType, "audio/") {
		return KindAudio
	}
	return KindVideo
}

// ClockRate returns the RTP clock rate of the codec in Hz: 90000 for video
// (RFC 7741 section 4.1 for VP8), 48000 for Opus (RFC 7587 section 4.1).
func (c *Clip) ClockRate() uint32 { return c.clockRate }

// Capability returns the codec as pion describes a track's codec, for
// webrtc.NewTrackLocalStaticSample. Opus is always signalled with two
// channels, whatever the clip holds (RFC 7587 section 7). H.264 carries
// H264Fmtp, the format it was encoded in, which pion matches against the
// negotiated codecs.
func (c *Clip) Capability() webrtc.RTPCodecCapability {
	cp := webrtc.RTPCodecCapability{
		MimeType:  c.mimeType,
		ClockRate: c.clockRate,
		Channels:  c.channels,
	}
	if c.mimeType == webrtc.MimeTypeH264 {
		cp.SDPFmtpLine = H264Fmtp
	}
	return cp
}

// H264Fmtp is the format of the H.264 clips make-clips.sh writes:
// constrained baseline level 3.1, packetization mode 1 (RFC 6184 section
// 8.1).
const H264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// Keyframe reports whether frame i of one pass decodes on its own.
func (c *Clip) Keyframe(i int) bool { return c.frames[i].Keyframe }

// SkipToKeyframe moves the player to the next keyframe at or after its
// position, so that the next frame it hands out is one; it wraps to frame
// 0 (a keyframe in every clip make-clips.sh writes) past the last one.
// This is how a simulated sender answers a keyframe request: it cannot
// encode a fresh keyframe of the current picture, so it jumps ahead in the
// clip to the nearest one.
func (p *Player) SkipToKeyframe() {
	for i := p.next; i < len(p.clip.frames); i++ {
		if p.clip.frames[i].Keyframe {
			p.next = i
			return
		}
	}
	p.next = 0
}

// Frames returns the number of samples in one pass through the clip.
func (c *Clip) Frames() int { return len(c.frames) }

// Duration returns the playing time of one pass: the sum of the samples'
// durations.
func (c *Clip) Duration() time.Duration { return c.duration }

// Player returns a new Player positioned at the first frame.
func (c *Clip) Player() *Player { return &Player{clip: c} }

// Player hands out a clip's frames in order, looping forever. A Player is
// not safe for concurrent use; give each sender its own.
type Player struct {
	clip *Clip
	next int
}

// NextFrame returns the next frame and advances, going back to frame 0
// after the last one.
func (p *Player) NextFrame() Frame {
	f := p.clip.frames[p.next]
	p.next++
	if p.next == len(p.clip.frames) {
		p.next = 0
	}
	return f
}

// Next returns the next frame's sample, for TrackLocalStaticSample.WriteSample.
func (p *Player) Next() media.Sample { return p.NextFrame().Sample }
