package peer

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"sync"
	"unsafe"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// responder answers NACKs (RFC 4585 section 6.2.1) with retransmissions,
// on the stream's RTX stream when it has one (RFC 4588 section 4: the
// original sequence number leads the payload), exactly as pion's
// nack.ResponderInterceptor (interceptor v0.1.42, pkg/nack and
// internal/rtpbuffer) does: the last responderSize packets of each stream
// that negotiated "nack" kept by sequence number, a NACK answered on a
// goroutine of its own (resendorder.go orders the bursts), RTX sequence
// numbers from one random sequencer per PeerConnection advanced by every
// packet kept (rtxRenumber in nack.go renumbers them as sent), padding cut
// from a retransmission, and a payload over 1,460 bytes refused.
//
// What it does not do is copy each payload into a 1,460-byte buffer of
// its own. A stream keeps its payloads in buffers it reuses as its ring
// wraps, and PeerConnections given one PayloadShare (an SFU's legs) keep
// one copy of a payload that several of them send: an SFU forwarding a
// packet to 9 subscribers kept 9 copies, 23 % of what a conference-10
// run allocated and most of its heap (issue #21).
type responder struct {
	interceptor.NoOp
	share *PayloadShare
	seq   rtp.Sequencer // RTX sequence numbers, as pion's packet factory

	mu      sync.Mutex
	streams map[uint32]*keptStream
}

// responderSize is how many packets each stream keeps: pion's default.
const responderSize = 1024

// maxPayloadLen is the largest payload pion's responder keeps
// (internal/rtpbuffer): a write with a larger one fails.
const maxPayloadLen = 1460

type responderFactory struct{ share *PayloadShare }

func (f responderFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &responder{share: f.share, seq: rtp.NewRandomSequencer(), streams: map[uint32]*keptStream{}}, nil
}

// keptStream is one local stream's recent packets.
type keptStream struct {
	mu      sync.Mutex // held over a retransmission's write, as pion's
	writer  interceptor.RTPWriter
	rtxSSRC uint32
	rtxPT   uint8
	slots   [responderSize]keptPacket
	highest uint16
	started bool
	scratch []byte // a retransmission's payload
}

// keptPacket is one slot. The header is kept marshalled, in a buffer
// the slot reuses: a cloned rtp.Header cost two allocations a packet
// (its extension list and the transport-wide sequence number in it), and
// a thousand headers a stream full of pointers for the collector to scan.
type keptPacket struct {
	valid   bool
	seq     uint16 // the original's
	trim    bool   // cut the padding that ends the payload from the RTX payload
	padSize byte   // the header's PaddingSize, which its bytes do not carry
	hdr     []byte // the header as it will be resent (RTX fields set), marshalled
	// payload is the original's payload: in own, or a PayloadShare's
	// copy, which is never written to.
	payload []byte
	own     []byte // this slot's payload buffer, reused
}

// BindLocalStream keeps each packet of a stream that negotiated NACK.
func (r *responder) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	if !supportsNACK(info) {
		return writer
	}
	s := &keptStream{writer: writer}
	if info.SSRCRetransmission != 0 && info.PayloadTypeRetransmission != 0 {
		s.rtxSSRC, s.rtxPT = info.SSRCRetransmission, info.PayloadTypeRetransmission
	}
	r.mu.Lock()
	r.streams[info.SSRC] = s
	r.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if h.SSRC != info.SSRC {
			return writer.Write(h, payload, a)
		}
		if err := r.keep(s, h, payload); err != nil {
			return 0, err
		}
		return writer.Write(h, payload, a)
	})
}

// keep stores a sent packet as pion's RTPBuffer.Add does: a packet newer
// than the newest clears the slots of the numbers skipped; an older one
// takes its slot; a repeat of the newest is not kept.
func (r *responder) keep(s *keptStream, h *rtp.Header, payload []byte) error {
	if len(payload) > maxPayloadLen {
		return io.ErrShortBuffer
	}
	rh := *h // shares h's lists: only marshalled below
	trim := false
	if s.rtxSSRC != 0 {
		rh.SSRC, rh.PayloadType, rh.SequenceNumber = s.rtxSSRC, s.rtxPT, r.seq.NextSequenceNumber()
		if rh.Padding {
			if rh.PaddingSize == 0 {
				// The padding ends the payload: its last byte counts it
				// (RFC 3550 section 5.1), here the last of the RTX
				// payload (the original's, or the original sequence
				// number's low byte).
				last := byte(h.SequenceNumber)
				if len(payload) > 0 {
					last = payload[len(payload)-1]
				}
				if int(last) > len(payload)+2 {
					return errPaddingOverflow
				}
				trim = true
			}
			rh.Padding, rh.PaddingSize = false, 0
		}
	}
	seq := h.SequenceNumber
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		diff := seq - s.highest
		if diff == 0 {
			return nil
		}
		if diff < 1<<15 {
			for i := s.highest + 1; i != seq; i++ {
				s.slots[i%responderSize].drop()
			}
			s.highest = seq
		}
	} else {
		s.started, s.highest = true, seq
	}
	k := &s.slots[seq%responderSize]
	k.drop()
	size := rh.MarshalSize()
	k.hdr = slices.Grow(k.hdr[:0], size)[:size]
	if _, err := rh.MarshalTo(k.hdr); err != nil {
		return err
	}
	k.valid, k.seq, k.trim, k.padSize = true, seq, trim, rh.PaddingSize
	if r.share != nil {
		k.payload = r.share.copyOf(payload)
	} else {
		k.own = append(k.own[:0], payload...)
		k.payload = k.own
	}
	return nil
}

// drop forgets the slot's packet, keeping its buffers.
func (k *keptPacket) drop() {
	k.valid, k.payload = false, nil
}

var errPaddingOverflow = errors.New("peer: RTP padding longer than the payload")

// UnbindLocalStream forgets a stream.
func (r *responder) UnbindLocalStream(info *interceptor.StreamInfo) {
	r.mu.Lock()
	delete(r.streams, info.SSRC)
	r.mu.Unlock()
}

// BindRTCPReader answers each NACK of what arrives, on a goroutine of its
// own, after nackRepair (registered before it) trimmed it.
func (r *responder) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		i, attr, err := readRTCPAttrs(reader, b, a)
		if err != nil {
			return 0, nil, err
		}
		pkts, err := attr.GetRTCPPackets(b[:i])
		if err != nil {
			return 0, nil, err
		}
		for _, p := range pkts {
			if nack, ok := p.(*rtcp.TransportLayerNack); ok {
				go r.resend(nack)
			}
		}
		return i, attr, nil
	})
}

// resend writes every kept packet the NACK asks for, in its order.
func (r *responder) resend(nack *rtcp.TransportLayerNack) {
	r.mu.Lock()
	s := r.streams[nack.MediaSSRC]
	r.mu.Unlock()
	if s == nil {
		return
	}
	for _, pair := range nack.Nacks {
		pair.Range(func(seq uint16) bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			if h, payload, ok := s.get(seq); ok {
				_, _ = s.writer.Write(&h, payload, interceptor.Attributes{}) // pion logs and goes on
			}
			return true
		})
	}
}

// get returns the retransmission of seq, as pion's RTPBuffer.Get finds
// it: among the last responderSize numbers up to the newest. Called with
// s.mu held; the payload is s.scratch's until the next get.
func (s *keptStream) get(seq uint16) (rtp.Header, []byte, bool) {
	if !s.started {
		return rtp.Header{}, nil, false
	}
	if diff := s.highest - seq; diff >= 1<<15 || diff >= responderSize {
		return rtp.Header{}, nil, false
	}
	k := &s.slots[seq%responderSize]
	if !k.valid || k.seq != seq {
		return rtp.Header{}, nil, false
	}
	var h rtp.Header
	if _, err := h.Unmarshal(k.hdr); err != nil {
		return rtp.Header{}, nil, false // marshalled by keep: cannot happen
	}
	h.PaddingSize = k.padSize
	if s.rtxSSRC == 0 {
		return h, k.payload, true
	}
	out := append(s.scratch[:0], byte(seq>>8), byte(seq))
	out = append(out, k.payload...)
	s.scratch = out
	if k.trim {
		out = out[:len(out)-int(out[len(out)-1])] // checked in keep
	}
	return h, out, true
}

// PayloadShare lets the PeerConnections given it (Params.PayloadShare)
// keep one copy of a payload that several of them send. A copy is
// shared when the payload has the bytes of the last copy made from the
// same buffer: an SFU reads a packet into its buffer and writes it to
// each subscriber's leg in turn. Copies are never written to.
type PayloadShare struct {
	mu   sync.Mutex
	last map[*byte][]byte // by the sender's buffer
}

// NewPayloadShare returns an empty share.
func NewPayloadShare() *PayloadShare { return &PayloadShare{last: map[*byte][]byte{}} }

// maxShared bounds the buffers a share remembers: an SFU reads into one
// per published track; a padding probe's buffer is new each time.
const maxShared = 256

func (p *PayloadShare) copyOf(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	key := unsafe.SliceData(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.last[key]; ok && bytes.Equal(c, b) {
		return c
	}
	if len(p.last) >= maxShared {
		clear(p.last)
	}
	c := append([]byte(nil), b...)
	p.last[key] = c
	return c
}
