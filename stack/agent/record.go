package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/rtclab/rtclab/seqnum"
)

// ErrNoContainer means WriteFrames has no file format for the codec.
var ErrNoContainer = errors.New("no container for codec")

// WriteFrames writes received frames (kept with Params.RecordMedia) to w
// in the codec's usual file format, so a decoder such as ffmpeg can play
// what the receiver got: IVF for VP8, VP9 and AV1 (frame timestamps are
// the RTP timestamps relative to the first frame, in a 1/90000 s
// timebase), an Annex-B byte stream for H.264 (the depacketized access
// units already carry start codes), Ogg for Opus (RFC 7845, written by
// pion's oggwriter; width and height are ignored). Frames without data are
// skipped.
func WriteFrames(w io.Writer, mimeType string, frames []Frame, width, height int) error {
	switch strings.ToLower(mimeType) {
	case "audio/opus":
		ogg, err := oggwriter.NewWith(w, 48000, 2)
		if err != nil {
			return fmt.Errorf("write ogg: %w", err)
		}
		for _, f := range frames {
			if len(f.Data) == 0 {
				continue
			}
			if err := ogg.WriteRTP(&rtp.Packet{Header: rtp.Header{Timestamp: f.Timestamp}, Payload: f.Data}); err != nil {
				return fmt.Errorf("write ogg: %w", err)
			}
		}
		if err := ogg.Close(); err != nil {
			return fmt.Errorf("write ogg: %w", err)
		}
		return nil
	case "video/h264":
		for _, f := range frames {
			if _, err := w.Write(f.Data); err != nil {
				return fmt.Errorf("write h264: %w", err)
			}
		}
		return nil
	case "video/vp8", "video/vp9", "video/av1":
	default:
		return fmt.Errorf("%w %s", ErrNoContainer, mimeType)
	}
	fourCC := map[string]string{"video/vp8": "VP80", "video/vp9": "VP90", "video/av1": "AV01"}[strings.ToLower(mimeType)]
	n := 0
	for _, f := range frames {
		if len(f.Data) > 0 {
			n++
		}
	}
	// IVF file header: signature, version 0, header size 32, FourCC,
	// width, height, timebase denominator and numerator, frame count.
	h := make([]byte, 32)
	copy(h, "DKIF")
	binary.LittleEndian.PutUint16(h[6:], 32)
	copy(h[8:], fourCC)
	binary.LittleEndian.PutUint16(h[12:], uint16(width))
	binary.LittleEndian.PutUint16(h[14:], uint16(height))
	binary.LittleEndian.PutUint32(h[16:], 90000)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint32(h[24:], uint32(n))
	if _, err := w.Write(h); err != nil {
		return fmt.Errorf("write ivf header: %w", err)
	}
	// Frame timestamps are extended (package seqnum), so the 64-bit IVF
	// timestamps keep counting past a 32-bit wrap of the RTP clock.
	var ts seqnum.TimestampUnwrapper
	var first int64
	started := false
	fh := make([]byte, 12)
	for _, f := range frames {
		if len(f.Data) == 0 {
			continue
		}
		ext := ts.Unwrap(f.Timestamp)
		if !started {
			first, started = ext, true
		}
		// Frame header: size, then a 64-bit timestamp.
		binary.LittleEndian.PutUint32(fh[0:], uint32(len(f.Data)))
		binary.LittleEndian.PutUint64(fh[4:], uint64(max(0, ext-first)))
		if _, err := w.Write(fh); err != nil {
			return fmt.Errorf("write ivf frame: %w", err)
		}
		if _, err := w.Write(f.Data); err != nil {
			return fmt.Errorf("write ivf frame: %w", err)
		}
	}
	return nil
}
