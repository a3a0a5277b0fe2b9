package clip

import (
	"bytes"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

const (
	opusClockRate = 48_000 // Opus RTP clock rate and granule rate (RFC 7587 section 4.1, RFC 7845 section 4)
	opusChannels  = 2      // always "opus/48000/2" in SDP (RFC 7587 section 7)

	// Ogg page header layout (RFC 3533 section 6).
	oggCapturePattern = "OggS"
	oggHeaderLen      = 27 // up to and including the segment count
	oggFlagContinued  = 0x01
	oggFlagBOS        = 0x02
	oggFlagEOS        = 0x04
	oggNoGranule      = ^uint64(0) // granule position -1: no packet ends on the page
)

// loadOggOpus reads an Ogg Opus file (RFC 7845). pion's oggreader checks
// each page's CRC and returns its payload, but not the lacing values that
// split the payload into packets, so the page header is read from the bytes
// the reader has just consumed.
//
// Packet 0 is the OpusHead identification header, alone on the first page;
// packet 1 is the OpusTags comment header, which may span pages and ends a
// page (RFC 7845 section 3). Every later packet is one sample whose duration
// comes from its TOC byte; the running total of those durations is checked
// against each page's granule position (RFC 7845 section 4).
func loadOggOpus(data []byte) (*Clip, error) {
	r := bytes.NewReader(data)
	ogg, err := oggreader.NewWithOptions(r)
	if err != nil {
		return nil, fmt.Errorf("ogg reader: %w", err)
	}
	c := &Clip{mimeType: webrtc.MimeTypeOpus, clockRate: opusClockRate, channels: opusChannels}

	var (
		serial     uint32
		partial    []byte // start of a packet that continues on the next page
		continues  bool   // the previous page ended inside a packet
		packets    int    // packets completed so far, headers included
		samples    int64  // 48 kHz samples in the audio packets so far
		offset     int64  // granule position minus samples, fixed by the first audio page
		haveOffset bool
	)
	for page := 0; ; page++ {
		start := len(data) - r.Len()
		if start == len(data) {
			break
		}
		where := fmt.Sprintf("ogg page %d at byte %d", page, start)
		if !bytes.HasPrefix(data[start:], []byte(oggCapturePattern)) {
			return nil, fmt.Errorf("%s: no %q capture pattern: %w", where, oggCapturePattern, ErrMalformed)
		}
		payload, header, err := ogg.ParseNextPage()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		raw := data[start : len(data)-r.Len()]
		flags := raw[5]
		lacing := raw[oggHeaderLen : oggHeaderLen+int(raw[26])]

		if page == 0 {
			serial = header.Serial
		} else if header.Serial != serial {
			return nil, fmt.Errorf("%s: second logical stream %#x (multiplexed or chained Ogg): %w", where, header.Serial, ErrUnsupported)
		}
		if (flags&oggFlagContinued != 0) != continues {
			return nil, fmt.Errorf("%s: continued-packet flag %t, but previous page ended inside a packet: %t: %w",
				where, flags&oggFlagContinued != 0, continues, ErrMalformed)
		}

		// Split the payload into packets: a lacing value below 255 ends a
		// packet; 255 means the packet goes on (RFC 3533 section 6).
		var done [][]byte
		pos := 0
		for _, n := range lacing {
			partial = append(partial, payload[pos:pos+int(n)]...)
			pos += int(n)
			if n < 255 {
				done = append(done, partial)
				partial = nil
			}
		}
		continues = len(lacing) > 0 && lacing[len(lacing)-1] == 255

		audioDone := false
		for i, pkt := range done {
			switch packets {
			case 0:
				if page != 0 || flags&oggFlagBOS == 0 || len(done) != 1 || continues {
					return nil, fmt.Errorf("%s: OpusHead must be alone on the first page: %w", where, ErrMalformed)
				}
				if err := checkOpusHead(pkt); err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
			case 1:
				if _, err := oggreader.ParseOpusTags(pkt); err != nil {
					return nil, fmt.Errorf("%s: %w: %w", where, ErrMalformed, err)
				}
				if i != len(done)-1 || continues {
					return nil, fmt.Errorf("%s: OpusTags must end its page: %w", where, ErrMalformed)
				}
			default:
				n, err := opusSamples(pkt)
				if err != nil {
					return nil, fmt.Errorf("%s: opus packet %d: %w", where, len(c.frames), err)
				}
				samples += int64(n)
				audioDone = true
				c.frames = append(c.frames, Frame{
					Sample: media.Sample{
						Data:     pkt,
						Duration: time.Duration(n) * time.Second / opusClockRate,
					},
					Keyframe: true,
				})
			}
			packets++
		}

		if !audioDone || header.GranulePosition == oggNoGranule {
			continue
		}
		// The granule position counts the samples of every packet
		// completed so far, from a fixed starting offset; the last page
		// may count fewer, to trim the end (RFC 7845 section 4.5).
		granule := int64(header.GranulePosition)
		eos := flags&oggFlagEOS != 0
		if !haveOffset {
			offset, haveOffset = granule-samples, true
			if offset < 0 && !eos {
				return nil, fmt.Errorf("%s: granule position %d is below the %d samples of the first audio page: %w",
					where, granule, samples, ErrMalformed)
			}
		} else if want := offset + samples; granule != want && !(eos && granule < want) {
			return nil, fmt.Errorf("%s: granule position %d, but the Opus packets add up to %d: %w",
				where, granule, want, ErrMalformed)
		}
	}
	if continues {
		return nil, fmt.Errorf("ogg: last page ends inside a packet: %w", ErrMalformed)
	}
	if packets < 2 {
		return nil, fmt.Errorf("ogg: missing OpusHead or OpusTags header: %w", ErrMalformed)
	}
	return c, nil
}

// checkOpusHead checks the identification header (RFC 7845 section 5.1).
func checkOpusHead(pkt []byte) error {
	if !bytes.HasPrefix(pkt, []byte(oggreader.HeaderOpusID)) {
		return fmt.Errorf("first packet is not OpusHead: %w", ErrMalformed)
	}
	if len(pkt) < 19 {
		return fmt.Errorf("OpusHead of %d bytes, want at least 19: %w", len(pkt), ErrMalformed)
	}
	head, err := oggreader.ParseOpusHead(pkt)
	if err != nil {
		return fmt.Errorf("OpusHead: %w: %w", ErrMalformed, err)
	}
	if head.Version>>4 != 0 {
		return fmt.Errorf("OpusHead version %d: %w", head.Version, ErrUnsupported)
	}
	if head.Channels == 0 {
		return fmt.Errorf("OpusHead with 0 channels: %w", ErrMalformed)
	}
	return nil
}

// opusSamples returns how many 48 kHz samples an Opus packet decodes to,
// from its TOC byte (RFC 6716 section 3.1) and, for code 3 packets, the
// frame count byte (section 3.2.5).
func opusSamples(pkt []byte) (int, error) {
	if len(pkt) == 0 {
		return 0, fmt.Errorf("empty packet (RFC 6716 section 3.4, R1): %w", ErrMalformed)
	}
	toc := pkt[0]
	config := toc >> 3
	var frame int // samples per frame
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		frame = [4]int{480, 960, 1920, 2880}[config&3]
	case config < 16: // Hybrid: 10, 20 ms
		frame = [2]int{480, 960}[config&1]
	default: // CELT-only: 2.5, 5, 10, 20 ms
		frame = [4]int{120, 240, 480, 960}[config&3]
	}
	count := 1 // code 0: one frame
	switch toc & 0x03 {
	case 1, 2: // two frames, equal or different sizes
		count = 2
	case 3: // an arbitrary number of frames, counted in the next byte
		if len(pkt) < 2 {
			return 0, fmt.Errorf("code 3 packet without a frame count byte: %w", ErrMalformed)
		}
		count = int(pkt[1] & 0x3f)
	}
	const maxSamples = 120 * opusClockRate / 1000
	if count == 0 || frame*count > maxSamples {
		return 0, fmt.Errorf("%d frames of %d samples, want 1 to 120 ms (RFC 6716 section 3.4, R5): %w",
			count, frame, ErrMalformed)
	}
	return frame * count, nil
}
