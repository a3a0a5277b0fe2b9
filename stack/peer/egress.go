package peer

import (
	"io"
	"maps"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// egress hands every RTP packet written below the NACK responder to one
// goroutine per PeerConnection, which writes it on to the wire, so that no
// lock above it is held while a write blocks. Only PeerConnections with a
// TURN server have one (peer.go, usesTURN): without relay candidates no
// write waits.
//
// Why: pion holds locks across blocking writes. pion/interceptor v0.1.42's
// NACK responder holds a stream's rtpBufferMutex while it writes a media
// packet or a retransmission (pkg/nack/responder_interceptor.go; rtclab's
// responder.go, which replaced it, holds its stream's lock alike), and
// TrackLocalStaticRTP holds its RWMutex while writing to every binding.
// The write ends in ice.Conn.Write, which waits for the ICE agent's task
// loop; that loop can itself wait for a network answer, e.g. a TURN
// CreatePermission to a relay that was just restarted (pion/turn's client
// performs it synchronously on first use of a peer address). In real time
// that is a delay. In a testing/synctest bubble it is a hang: a goroutine
// waiting for a sync.Mutex is not durably blocked, so virtual time never
// advances to the timer that would end the TURN transaction (seen: the
// TURN-restart case of TestFaultP2PRelay hung for 15 minutes with the
// media player waiting for the responder's mutex and the responder's
// resend goroutine inside ice.Conn.Write).
//
// Writes keep their order (one FIFO per PeerConnection) and their virtual
// instant; what changes is only that the caller does not wait for the
// wire. Errors below are dropped, as a real egress queue drops them; the
// send log (wire.go) records only what reached the wire, as before.
type egress struct {
	interceptor.NoOp

	mu      sync.Mutex
	queue   []egressPacket
	started bool
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	once    sync.Once
}

type egressPacket struct {
	w       interceptor.RTPWriter
	h       rtp.Header
	payload []byte
	buf     *[]byte // payload's pooled storage
	a       interceptor.Attributes
}

// egressBuffers holds payload copies between the caller's Write and the
// egress goroutine's: nothing below keeps a payload after its Write
// returns (SRTP encrypts into a buffer of its own; the send log keeps
// sizes), so each buffer goes back once written.
var egressBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1500); return &b }}

type egressFactory struct{}

func (egressFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &egress{wake: make(chan struct{}, 1), done: make(chan struct{})}, nil
}

// BindLocalStream queues each packet for the egress goroutine. The header
// and payload are copied: the responder releases its buffer to a pool as
// soon as Write returns.
func (e *egress) BindLocalStream(_ *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		buf := egressBuffers.Get().(*[]byte)
		*buf = append((*buf)[:0], payload...)
		p := egressPacket{w: writer, h: h.Clone(), payload: *buf, buf: buf, a: maps.Clone(a)} // a is the writer's (attrs.go)
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return 0, io.ErrClosedPipe
		}
		e.queue = append(e.queue, p)
		if !e.started {
			e.started = true
			go e.run()
		}
		e.mu.Unlock()
		select {
		case e.wake <- struct{}{}:
		default:
		}
		return h.MarshalSize() + len(payload), nil
	})
}

func (e *egress) run() {
	// spare is the previous round's list, emptied, handed back to the
	// writers: a fresh list each round cost an allocation per packet or two.
	var spare []egressPacket
	for {
		e.mu.Lock()
		q, closed := e.queue, e.closed
		e.queue = spare[:0]
		e.mu.Unlock()
		if closed {
			return
		}
		for i := range q {
			p := &q[i]
			_, _ = p.w.Write(&p.h, p.payload, p.a)
			*p.buf = p.payload[:0]
			egressBuffers.Put(p.buf)
			q[i] = egressPacket{}
		}
		spare = q
		if len(q) > 0 {
			continue
		}
		select {
		case <-e.wake:
		case <-e.done:
		}
	}
}

// Close drops what is still queued and ends the goroutine (once its
// current write returns).
func (e *egress) Close() error {
	e.once.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.queue = nil
		e.mu.Unlock()
		close(e.done)
	})
	return nil
}
