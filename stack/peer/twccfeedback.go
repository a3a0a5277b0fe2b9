package peer

import (
	"math/rand"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// twccFeedback sends transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1) for the
// remote streams of a PeerConnection, as pion's twcc.SenderInterceptor
// (interceptor v0.1.42, pkg/twcc/sender_interceptor.go) does and with its
// twcc.Recorder, which builds the packets: every packet that carries a
// transport-wide sequence number is recorded with its arrival time in
// microseconds since the interceptor was made, and a ticker started by the
// first such packet sends what was recorded every interval.
//
// The one difference: a read records its packet itself, under a lock.
// pion's reader hands every packet over an unbuffered channel to the
// goroutine that owns the recorder, a goroutine switch for every packet a
// PeerConnection receives (issue #21: with the handover's select, some
// 4 % of a conference-10 run's CPU). The feedback is the same; at an
// instant where a packet and a tick coincide, either may come first in
// both (pion's select picks at random), which the tick's phase offset
// (phase.PeerTWCCInterval) keeps off arrivals in virtual time.
type twccFeedback struct {
	interceptor.NoOp
	interval time.Duration
	start    time.Time

	mu       sync.Mutex
	recorder *twcc.Recorder
	writer   interceptor.RTCPWriter
	ticking  bool
	closed   chan struct{}
	wg       sync.WaitGroup
}

type twccFeedbackFactory struct{ interval time.Duration }

func (f twccFeedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &twccFeedback{
		interval: f.interval,
		start:    time.Now(),
		// pion's sender SSRC of the feedback: random, as there.
		recorder: twcc.NewRecorder(rand.Uint32()), // #nosec G404 -- an SSRC, not a secret
		closed:   make(chan struct{}),
	}, nil
}

// BindRTCPWriter keeps the writer the feedback goes out through.
func (t *twccFeedback) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	t.mu.Lock()
	t.writer = writer
	t.mu.Unlock()
	return writer
}

// BindRemoteStream records each packet of a stream that negotiated the
// transport-wide sequence number extension.
func (t *twccFeedback) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			id = uint8(e.ID) //nolint:gosec // an extension ID, 1-255
			break
		}
	}
	if id == 0 { // 0 is not a valid extension ID: the stream has none
		return reader
	}
	ssrc := info.SSRC
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err != nil {
			return 0, nil, err
		}
		if attr == nil {
			attr = make(interceptor.Attributes)
		}
		h, err := attr.GetRTPHeader(b[:n])
		if err != nil {
			return 0, nil, err
		}
		ext := h.GetExtension(id)
		if ext == nil {
			return n, attr, nil
		}
		var tcc rtp.TransportCCExtension
		if err := tcc.Unmarshal(ext); err != nil {
			return 0, nil, err
		}
		t.record(ssrc, tcc.TransportSequence, time.Since(t.start).Microseconds())
		return n, attr, nil
	})
}

// record adds one arrival; the first starts the ticker, at its instant.
func (t *twccFeedback) record(ssrc uint32, seq uint16, arrivalUS int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.closed:
		return
	default:
	}
	t.recorder.Record(ssrc, seq, arrivalUS)
	if !t.ticking {
		t.ticking = true
		tick := time.NewTicker(t.interval)
		t.wg.Add(1)
		go t.loop(tick)
	}
}

// loop sends the feedback recorded since the last tick, every tick.
func (t *twccFeedback) loop(tick *time.Ticker) {
	defer t.wg.Done()
	defer tick.Stop()
	for {
		select {
		case <-t.closed:
			return
		case <-tick.C:
			t.mu.Lock()
			pkts, w := t.recorder.BuildFeedbackPacket(), t.writer
			t.mu.Unlock()
			if len(pkts) == 0 || w == nil {
				continue
			}
			_, _ = w.Write(pkts, nil) // pion logs the error and goes on
		}
	}
}

// Close stops the ticker.
func (t *twccFeedback) Close() error {
	t.mu.Lock()
	select {
	case <-t.closed:
	default:
		close(t.closed)
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}
