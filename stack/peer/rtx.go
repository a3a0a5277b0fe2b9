package peer

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Retransmissions (RFC 4588) reach the application through pion v4.2.1's
// repair path: a goroutine per RTX stream restores each packet and offers
// it to a channel of 50 slots, dropping it when the channel is full ("skip
// the RTX packet if the repair stream channel is full", rtpreceiver.go),
// and TrackRemote.Read looks at that channel only before it blocks
// waiting for media. A burst of more than 50 repairs (the NACKs answered
// at once after an outage) lost the rest, and repairs arriving while no
// media did (a congested link draining its queue at the end of a call)
// waited unread: the stats interceptor and the NACK generator had counted
// them as received, the application never saw them (outage mid-call: 191
// of 191 lost packets repaired on the wire, 50 seen). Upstream: the repair
// path bypasses the media stream's interceptors, pion/webrtc#3063, and was
// reworked after v4.2.1, pion/webrtc#3470; neither delivers every repair.
//
// rtxFold is the one workaround: the last interceptor, it reads every
// remote stream itself, restores each retransmission on an RTX stream
// whose media stream it knows (PC.Read tells it, from the track) and
// hands it to that media stream's reader, which returns it next, waking a
// read that waits for media. pion's repair goroutine then never gets a
// packet. A retransmission on an RTX stream not yet paired passes through
// to pion unchanged (pion needs those to pair simulcast RTX streams by
// their repaired RID, RFC 8852 section 3.2).

// foldPacket is one packet: a repair queued, or a packet read.
type foldPacket struct {
	buf  []byte
	attr interceptor.Attributes
}

type rtxFoldFactory struct {
	out chan<- *rtxFold
}

func (f rtxFoldFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	g := &rtxFold{
		rtxPT: rtxPayloadTypes(), closed: make(chan struct{}),
		streams: map[uint32]*foldStream{}, media: map[uint32]pairing{},
	}
	select {
	case f.out <- g:
	default:
	}
	return g, nil
}

// pairing is the media stream an RTX stream repairs.
type pairing struct {
	ssrc uint32
	pt   uint8
}

type rtxFold struct {
	interceptor.NoOp
	rtxPT     map[uint8]bool
	closeOnce sync.Once
	closed    chan struct{}

	mu      sync.Mutex
	streams map[uint32]*foldStream // by SSRC
	media   map[uint32]pairing     // RTX SSRC -> media stream
}

// foldStream is one remote stream's reader. Every stream reads the
// stream underneath directly, on its reader's goroutine. A repair for a
// media stream arrives on its RTX stream's reader, which queues it and
// interrupts the media stream's read, should it wait, by setting the
// track's read deadline in the past (interrupt): the read returns
// pion's timeout, and Read clears the deadline and returns the repair.
// A pump goroutine per repaired stream, reading ahead and handing each
// packet over, did the same at the cost of a goroutine switch for every
// video packet a PeerConnection received (issue #21).
type foldStream struct {
	g     *rtxFold
	ssrc  uint32
	under interceptor.RTPReader
	attr  interceptor.Attributes // a read's, cleared and reused (attrs.go)
	// track is the stream's remote track, known once PC.Read read it:
	// what interrupt sets the read deadline of.
	track atomic.Pointer[webrtc.TrackRemote]

	mu      sync.Mutex
	repairs []foldPacket // restored retransmissions, oldest first
}

// pair tells the fold which media stream the RTX stream rtx repairs, and
// which track that media stream is read as.
func (g *rtxFold) pair(rtx, media uint32, pt uint8, t *webrtc.TrackRemote) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.media[rtx]; !ok {
		g.media[rtx] = pairing{ssrc: media, pt: pt}
	}
	if s := g.streams[media]; s != nil && s.track.Load() == nil {
		s.track.Store(t)
	}
}

// BindRemoteStream reads one stream through the fold.
func (g *rtxFold) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	s := &foldStream{g: g, ssrc: info.SSRC, under: reader, attr: make(interceptor.Attributes, 4)}
	g.mu.Lock()
	g.streams[info.SSRC] = s
	g.mu.Unlock()
	return s
}

// UnbindRemoteStream forgets a stream.
func (g *rtxFold) UnbindRemoteStream(info *interceptor.StreamInfo) {
	g.mu.Lock()
	delete(g.streams, info.SSRC)
	g.mu.Unlock()
}

// Close stops every read.
func (g *rtxFold) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	return nil
}

// interruptAt is a read deadline already past, in real and virtual time.
var interruptAt = time.Unix(1, 0)

// interrupt ends a read of the stream that waits, or the next one, with
// pion's timeout. A repair queued before its track is known needs none:
// the track is known (pair) before the stream's first read.
func (s *foldStream) interrupt() {
	if t := s.track.Load(); t != nil {
		_ = t.SetReadDeadline(interruptAt)
	}
}

// Read returns the next repair queued for this stream or the next packet
// of the stream itself; a retransmission on it goes to its media stream.
func (s *foldStream) Read(b []byte, _ interceptor.Attributes) (int, interceptor.Attributes, error) {
	for {
		s.mu.Lock()
		if len(s.repairs) > 0 {
			p := s.repairs[0]
			s.repairs = s.repairs[1:]
			s.mu.Unlock()
			return copy(b, p.buf), p.attr, nil
		}
		s.mu.Unlock()
		select {
		case <-s.g.closed:
			return 0, nil, io.EOF
		default:
		}
		clear(s.attr)
		n, attr, err := s.under.Read(b, s.attr)
		if err != nil {
			var ne net.Error
			if t := s.track.Load(); t != nil && errors.As(err, &ne) && ne.Timeout() {
				// interrupt's: clear the deadline before looking at
				// the queue again, so that a repair queued from now on
				// interrupts the next read.
				_ = t.SetReadDeadline(time.Time{})
				continue
			}
			return n, attr, err
		}
		if s.g.fold(s.ssrc, foldPacket{buf: b[:n], attr: attr}) {
			continue
		}
		return n, attr, nil
	}
}

// fold restores p, read on stream ssrc, to its media stream's reader when
// it is a retransmission on a paired RTX stream (RFC 4588 section 4: the
// original sequence number leads the payload), and reports whether it
// did. A padding-only probe on an RTX stream is dropped, as pion does.
func (g *rtxFold) fold(ssrc uint32, p foldPacket) bool {
	h, ok := cachedHeader(p.attr)
	if !ok {
		h = &rtp.Header{}
		if _, err := h.Unmarshal(p.buf); err != nil {
			return false
		}
	}
	if !g.rtxPT[h.PayloadType] {
		return false
	}
	n := h.MarshalSize()
	g.mu.Lock()
	to, paired := g.media[ssrc]
	dst := g.streams[to.ssrc]
	g.mu.Unlock()
	if !paired || dst == nil {
		return false
	}
	osn, ok := originalSeq(h, p.buf)
	if !ok {
		return true
	}
	out := make([]byte, 0, len(p.buf)-2)
	out = append(out, p.buf[:n]...)
	out = append(out, p.buf[n+2:]...)
	out[1] = out[1]&0x80 | to.pt&0x7f
	binary.BigEndian.PutUint16(out[2:4], osn)
	binary.BigEndian.PutUint32(out[8:12], to.ssrc)
	attr := p.attr
	if attr == nil {
		attr = interceptor.Attributes{}
	}
	attr = attrWithout(attr)
	attr.Set(webrtc.AttributeRtxPayloadType, h.PayloadType)
	attr.Set(webrtc.AttributeRtxSequenceNumber, h.SequenceNumber)
	attr.Set(webrtc.AttributeRtxSsrc, h.SSRC)
	dst.mu.Lock()
	dst.repairs = append(dst.repairs, foldPacket{buf: out, attr: attr})
	dst.mu.Unlock()
	dst.interrupt()
	return true
}

// attrWithout copies attributes but the parsed RTP header the inner
// interceptors cached, which describes the RTX packet, not the restored one.
func attrWithout(a interceptor.Attributes) interceptor.Attributes {
	out := make(interceptor.Attributes, len(a))
	for k, v := range a {
		if _, isHeader := v.(*rtp.Header); isHeader {
			continue
		}
		out[k] = v
	}
	return out
}

// originalSeq returns the original sequence number an RTX packet carries
// before its payload (RFC 4588 section 4), or false for a padding-only
// probe too short to carry one (RFC 3550 section 5.1: the last padding
// octet counts the padding).
func originalSeq(h *rtp.Header, b []byte) (uint16, bool) {
	off := h.MarshalSize()
	pad := 0
	if h.Padding && len(b) > 0 {
		pad = int(b[len(b)-1])
	}
	if len(b)-off-pad < 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(b[off : off+2]), true
}

// Read reads the next packet of a remote track of pc into b, media or
// repair (a repair restored to its original SSRC and sequence number,
// with pion's webrtc.AttributeRtxSsrc set). Every reader of a remote
// track in rtclab reads through Read or ReadRTP: they pair the track's
// RTX stream with it (rtxFold).
func (pc *PC) Read(t *webrtc.TrackRemote, b []byte) (int, interceptor.Attributes, error) {
	pc.pairRTX(t)
	return t.Read(b)
}

// ReadRTP is Read into a new packet.
func (pc *PC) ReadRTP(t *webrtc.TrackRemote) (*rtp.Packet, interceptor.Attributes, error) {
	pc.pairRTX(t)
	return t.ReadRTP()
}

// ReceiveMTU is the size of the buffer pion's ReadRTP reads into
// (webrtc v4.2.1 constants.go, receiveMTU; rtclab never changes it).
const ReceiveMTU = 1500

// ReadRTPInto is ReadRTP into storage the caller reuses: buf (at least
// ReceiveMTU bytes) and pkt, whose payload then points into buf until the
// next read. ReadRTP allocated a packet and a 1,500-byte buffer for every
// packet an SFU forwarded: 9 % of what a quickstart run allocated.
func (pc *PC) ReadRTPInto(t *webrtc.TrackRemote, buf []byte, pkt *rtp.Packet) (interceptor.Attributes, error) {
	n, attr, err := pc.Read(t, buf)
	if err != nil {
		return nil, err
	}
	if err := pkt.Unmarshal(buf[:n]); err != nil {
		return nil, err
	}
	return attr, nil
}

func (pc *PC) pairRTX(t *webrtc.TrackRemote) {
	if rtx := uint32(t.RtxSSRC()); rtx != 0 && pc.fold != nil {
		pc.fold.pair(rtx, uint32(t.SSRC()), uint8(t.PayloadType()), t)
	}
}
