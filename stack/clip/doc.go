// Package clip plays encoded media clips as the samples a simulated WebRTC
// sender writes to pion's TrackLocalStaticSample.
//
// Open reads a whole clip into memory once; the resulting *Clip is
// immutable and may be shared by any number of agents. Each sender takes its
// own Player, which hands out the clip's frames in order and loops forever:
//
//	c, err := clip.Open(rtclab.Clips, "testdata/clips/video-vp8.ivf")
//	if err != nil { ... }
//	track, err := webrtc.NewTrackLocalStaticSample(c.Capability(), "video", "agent-1")
//	p := c.Player()
//	for ... {
//		if err := track.WriteSample(p.Next()); err != nil { ... }
//	}
//
// The Player does no pacing: the caller decides when to send the next sample
// (a ticker of Sample.Duration, or virtual time under testing/synctest).
// SkipToKeyframe moves it to the next keyframe, which is how a simulated
// sender answers a keyframe request.
//
// Containers and codecs, chosen by file extension:
//
//   - .ivf: VP8, VP9 or AV1 (by the IVF FourCC), read with pion's ivfreader.
//     One IVF frame is one sample; its duration comes from the IVF timebase
//     and the frame timestamps. Keyframes are found in the codec's frame
//     header (RFC 6386 section 9.1 for VP8, the VP9 bitstream specification
//     section 6.2, the AV1 specification sections 5.3 and 5.9).
//   - .h264, .264: an H.264 Annex-B byte stream with one slice per picture
//     and no B-frames; one access unit (parameter sets, SEI, slice) is one
//     sample, lasting 1/H264FrameRate; a keyframe holds an IDR slice.
//   - .ogg, .opus: Opus in Ogg (RFC 7845), read page by page with pion's
//     oggreader and split into packets with the Ogg lacing values (RFC 3533
//     section 6). One Opus packet is one sample; its duration comes from the
//     packet's TOC byte (RFC 6716 section 3.1) and is checked against the
//     pages' granule positions (RFC 7845 section 4).
package clip
