package agent

import (
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// vp8Payloader splits a VP8 frame into RTP payloads as pion's
// codecs.VP8Payloader with EnablePictureID (the one pion's
// TrackLocalStaticSample uses for VP8) does, byte for byte, but into
// buffers it reuses from frame to frame: pion's allocates every payload
// (rtp v1.8.27, vp8_packet.go), 8 % of a quickstart run's allocation.
// Reuse is safe because TrackLocalStaticSample.WriteSample writes all of a
// frame's packets before it returns and nothing below keeps a payload
// (pion's NACK responder and package peer's egress copy it).
//
// The payload descriptor (RFC 7741 section 4.2): the first packet of a
// frame has S set and partition index 0; with a picture ID, X and I are
// set and the 15-bit ID follows, in one byte (M clear) while it is below
// 128, in two (M set) from then on. Like pion's, it sends no picture ID
// while the ID is 0: on a track's first frame and each time the ID wraps.
type vp8Payloader struct {
	pictureID uint16
	buf       []byte   // the payloads of the last frame, back to back
	out       [][]byte // slices of buf, returned by Payload
}

// Payload returns frame's payloads of at most mtu bytes each; they are
// valid until the next call.
func (p *vp8Payloader) Payload(mtu uint16, frame []byte) [][]byte {
	header := 1
	switch {
	case p.pictureID == 0:
	case p.pictureID < 128:
		header = 3
	default:
		header = 4
	}
	chunk := int(mtu) - header
	if chunk <= 0 || len(frame) == 0 {
		return nil
	}
	n := (len(frame) + chunk - 1) / chunk
	if need := n*header + len(frame); cap(p.buf) < need {
		p.buf = make([]byte, need)
	}
	p.out = p.out[:0]
	off := 0
	for i := range n {
		data := frame[i*chunk : min((i+1)*chunk, len(frame))]
		pkt := p.buf[off : off+header+len(data) : off+header+len(data)]
		off += len(pkt)
		clear(pkt[:header])
		if i == 0 {
			pkt[0] = 0x10 // S
		}
		switch header {
		case 3:
			pkt[0] |= 0x80 // X
			pkt[1] = 0x80  // I
			pkt[2] = byte(p.pictureID & 0x7f)
		case 4:
			pkt[0] |= 0x80
			pkt[1] = 0x80
			pkt[2] = 0x80 | byte(p.pictureID>>8&0x7f) // M
			pkt[3] = byte(p.pictureID)
		}
		copy(pkt[header:], data)
		p.out = append(p.out, pkt)
	}
	p.pictureID = (p.pictureID + 1) & 0x7fff
	return p.out
}

// opusPayloader hands an Opus packet on as one RTP payload (RFC 7587
// section 4.2), as pion's codecs.OpusPayloader does, but in a buffer it
// reuses from packet to packet instead of a fresh copy of each (rtp
// v1.8.27, opus_packet.go); see vp8Payloader for why reuse is safe.
type opusPayloader struct {
	buf []byte
	out [1][]byte
}

// Payload returns packet as one payload, valid until the next call.
func (p *opusPayloader) Payload(_ uint16, packet []byte) [][]byte {
	if packet == nil {
		return [][]byte{}
	}
	if p.buf == nil {
		p.buf = make([]byte, 0, 512)
	}
	p.buf = append(p.buf[:0], packet...)
	p.out[0] = p.buf[:len(packet):len(packet)]
	return p.out[:]
}

// withPayloader is the track option that packetizes VP8 with vp8Payloader
// and Opus with opusPayloader; for a track of another codec it adds
// nothing (pion's own payloader).
func withPayloader(mimeType string) []func(*webrtc.TrackLocalStaticRTP) {
	var newPayloader func() rtp.Payloader
	switch {
	case strings.EqualFold(mimeType, webrtc.MimeTypeVP8):
		newPayloader = func() rtp.Payloader { return &vp8Payloader{} }
	case strings.EqualFold(mimeType, webrtc.MimeTypeOpus):
		newPayloader = func() rtp.Payloader { return &opusPayloader{} }
	default:
		return nil
	}
	return []func(*webrtc.TrackLocalStaticRTP){webrtc.WithPayloader(func(c webrtc.RTPCodecCapability) (rtp.Payloader, error) {
		if !strings.EqualFold(c.MimeType, mimeType) {
			return nil, webrtc.ErrNoPayloaderForCodec
		}
		return newPayloader(), nil
	})}
}
