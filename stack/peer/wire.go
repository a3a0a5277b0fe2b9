package peer

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/rtclab/rtclab/analysis"
)

// wire keeps the send log of every local stream of one PeerConnection:
// what reached the transport, so counts start when DTLS-SRTP is up (pion
// drops what is written before, returning 0 bytes).
type wire struct {
	mu      sync.Mutex
	streams map[uint32]*wireStream // by media SSRC
}

type wireStream struct {
	ssrc, rtx uint32
	log       analysis.PacketLog // compact: it grows with the call
}

// wireFactory makes the interceptor that fills a wire; it is registered
// first, so it sits next to the transport and sees every packet the others
// write (retransmissions and padding too).
type wireFactory struct{ w *wire }

func (f *wireFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &wireInterceptor{w: f.w}, nil
}

type wireInterceptor struct {
	interceptor.NoOp
	w *wire
}

// BindLocalStream logs every packet of the stream that was written to the
// transport.
func (i *wireInterceptor) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	ws := &wireStream{ssrc: info.SSRC, rtx: info.SSRCRetransmission}
	i.w.mu.Lock()
	i.w.streams[ws.ssrc] = ws
	i.w.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		n, err := writer.Write(h, payload, a)
		if err != nil || n == 0 {
			return n, err
		}
		p := analysis.Packet{Seq: h.SequenceNumber, Timestamp: h.Timestamp, At: time.Now(), Size: len(payload), Padding: IsPadding(h, payload)}
		if ws.rtx != 0 && h.SSRC == ws.rtx {
			// RFC 4588 section 4: the payload starts with the original
			// sequence number.
			p.RTX = true
			if len(payload) >= 2 {
				p.Seq = binary.BigEndian.Uint16(payload)
				p.Size = len(payload) - 2
			}
		}
		i.w.mu.Lock()
		ws.log.Append(p)
		i.w.mu.Unlock()
		return n, err
	})
}

// IsPadding reports a packet that carries only padding: an SFU bandwidth
// probe (RFC 3550 section 5.1, P bit) with an empty or all-zero payload.
func IsPadding(h *rtp.Header, payload []byte) bool {
	if len(payload) == 0 {
		return true
	}
	if !h.Padding {
		return false
	}
	for _, b := range payload {
		if b != 0 {
			return false
		}
	}
	return true
}

// SendLog returns what this PeerConnection put on the wire on the media
// SSRC ssrc and its RTX SSRC, in send order, and the RTX SSRC (0 without).
// False when no stream with that SSRC was bound. An error means the log
// could not be read back from its spill file (analysis.PacketLog).
func (pc *PC) SendLog(ssrc uint32) (log []analysis.Packet, rtx uint32, ok bool, err error) {
	pc.wire.mu.Lock()
	defer pc.wire.mu.Unlock()
	ws := pc.wire.streams[ssrc]
	if ws == nil {
		return nil, 0, false, nil
	}
	log, err = ws.log.Packets()
	return log, ws.rtx, true, err
}

// SendLogView is SendLog's log as it is now, to be decoded later
// (analysis.PacketView).
func (pc *PC) SendLogView(ssrc uint32) (log analysis.PacketView, rtx uint32, ok bool) {
	pc.wire.mu.Lock()
	defer pc.wire.mu.Unlock()
	ws := pc.wire.streams[ssrc]
	if ws == nil {
		return analysis.PacketView{}, 0, false
	}
	return ws.log.View(), ws.rtx, true
}
