package peer

import (
	"maps"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/rtclab/rtclab/phase"
)

// resendOrder puts the retransmissions of different streams, asked for in
// one compound RTCP packet, on different virtual instants in a fixed
// order. Virtual time only (peer.go registers it between egress and the
// responder).
//
// Why: pion's NACK responder (interceptor v0.1.42,
// pkg/nack/responder_interceptor.go, BindRTCPReader) starts
// `go n.resendPackets(nack)` for every NACK of a compound packet, so the
// bursts of two streams start at one instant and the scheduler picks
// which reaches the wire first. Into a rate-limited link the first burst
// gets through and the second is queued or dropped: after carol's ICE
// restart on TURN over TCP (2 s of video to repair on two streams), her
// video from alice was 213 or 307 packets, from bob 624 or 520, with one
// seed (the burst order at the SFU was the first difference in the
// captures). Here the k-th local stream with RTX bound on a
// PeerConnection (bind order follows the transceivers, the same in every
// run; SSRCs are random) writes a burst of retransmissions k times
// phase.ResendStagger (about 10 µs) after it was asked for: every packet
// of the burst leaves at that one later instant, the bursts in stream
// order.
type resendOrder struct {
	interceptor.NoOp
	stagger time.Duration

	mu    sync.Mutex
	bound int // local streams with RTX bound so far
}

type resendOrderFactory struct{}

func (resendOrderFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &resendOrder{stagger: phase.ResendStagger.Value()}, nil
}

// BindLocalStream delays each burst written on the stream's RTX SSRC (the
// responder's retransmissions: nothing else writes there). The burst is
// copied and written from a timer, in the order written: the responder
// writes holding its stream's lock, and in a synctest bubble a goroutine
// waiting for a sync.Mutex stops virtual time (egress.go), so the caller
// must not sleep. Errors below are dropped, as egress drops them.
func (r *resendOrder) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	if info.SSRCRetransmission == 0 {
		return writer
	}
	r.mu.Lock()
	r.bound++
	wait := time.Duration(r.bound) * r.stagger
	r.mu.Unlock()
	rtx := info.SSRCRetransmission
	var mu sync.Mutex
	var pending []resendPacket
	flush := func() {
		mu.Lock()
		burst := pending
		pending = nil
		mu.Unlock()
		for _, p := range burst {
			_, _ = writer.Write(&p.h, p.payload, p.a)
		}
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if h.SSRC != rtx {
			return writer.Write(h, payload, a)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(pending) == 0 {
			time.AfterFunc(wait, flush)
		}
		pending = append(pending, resendPacket{h: h.Clone(), payload: append([]byte(nil), payload...), a: maps.Clone(a)})
		return h.MarshalSize() + len(payload), nil
	})
}

// resendPacket is a retransmission waiting for its burst's instant.
type resendPacket struct {
	h       rtp.Header
	payload []byte
	a       interceptor.Attributes
}
