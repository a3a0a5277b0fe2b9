package flow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// TCPParams declare a TCP-like flow: NewReno congestion control (RFC 5681
// slow start and congestion avoidance, RFC 6582 fast recovery, RFC 6298
// retransmission timer) over UDP with 1200-byte segments and an ACK per
// segment, acks on the backward path as packets. netem's emulated TCP carries
// its acks outside the links, so this stands in for the TCP
// flows of RFC 8867 sections 5.6 and 5.7: window-based, ACK-clocked and
// halving on loss, which is what a media flow competes against.
type TCPParams struct {
	Endpoints
	// Files, when set, makes the flow a sequence of downloads separated
	// by idle periods (RFC 8867 section 5.7's short TCP flows); otherwise
	// it always has data to send (section 5.6's long TCP flow).
	Files bool
	// MinFile and MaxFile bound a download's size in bytes (uniform).
	MinFile, MaxFile int
	// MeanOff is the mean idle time between downloads (exponential).
	MeanOff time.Duration
	// StartOff makes the flow begin with an idle period instead of a
	// download.
	StartOff bool
	// Seed seeds file sizes and idle times.
	Seed uint64
}

// TCP is a running TCP-like flow.
type TCP struct {
	p          TCPParams
	name       string
	send, recv net.PacketConn
	raddr      net.Addr
	acks       chan ack
	meter      meter
	wg         sync.WaitGroup
}

type ack struct {
	next uint64    // cumulative: every segment below it arrived
	echo time.Time // send time of the segment that triggered it
}

// Window parameters.
const (
	initialWindow = 3 // segments (RFC 3390 for 1200-byte segments)
	minRTO        = 200 * time.Millisecond
	initialRTO    = time.Second
	maxRTO        = 10 * time.Second
)

// NewTCP opens the sockets of a TCP-like flow and starts its receiver.
func NewTCP(name string, p TCPParams) (*TCP, error) {
	if p.Files && (p.MinFile <= 0 || p.MaxFile < p.MinFile || p.MeanOff <= 0) {
		return nil, fmt.Errorf("tcp %s: %w: files need 0 < min <= max and a mean idle time", name, ErrParams)
	}
	send, recv, raddr, err := p.open()
	if err != nil {
		return nil, fmt.Errorf("tcp %s: %w", name, err)
	}
	t := &TCP{p: p, name: name, send: send, recv: recv, raddr: raddr, acks: make(chan ack, 4096)}
	t.wg.Add(2)
	go t.receiver()
	go t.ackReader()
	return t, nil
}

// receiver acknowledges every segment cumulatively and counts every new
// segment that crossed the bottleneck, in order or not.
func (t *TCP) receiver() {
	defer t.wg.Done()
	buf := make([]byte, 2048)
	out := make([]byte, headerLen)
	var next uint64
	held := map[uint64]bool{}
	var from net.Addr
	for {
		n, addr, err := t.recv.ReadFrom(buf)
		if err != nil {
			return
		}
		pt, seq, sent, ok := unmarshal(buf[:n])
		if !ok || pt != ptTCP {
			continue
		}
		from = addr
		if seq >= next && !held[seq] {
			t.meter.received(n, sent, time.Now(), true)
			held[seq] = true
			for held[next] {
				delete(held, next)
				next++
			}
		}
		marshal(out, ptTCPAck, t.p.SSRC, next, sent)
		if _, err := t.recv.WriteTo(out, from); err != nil {
			return
		}
	}
}

func (t *TCP) ackReader() {
	defer t.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, _, err := t.send.ReadFrom(buf)
		if err != nil {
			return
		}
		if pt, next, echo, ok := unmarshal(buf[:n]); ok && pt == ptTCPAck {
			select {
			case t.acks <- ack{next: next, echo: echo}:
			default: // the sender is far behind; a lost ACK is harmless
			}
		}
	}
}

// tcpState is the sender's congestion state.
type tcpState struct {
	una, next, limit uint64
	cwnd, ssthresh   float64
	dups             int
	recovering       bool
	recover          uint64
	srtt, rttvar     time.Duration
	rto              time.Duration
}

// Run sends from start until stop or until ctx ends.
func (t *TCP) Run(ctx context.Context, start, stop time.Time) error {
	rng := rand.New(rand.NewPCG(t.p.Seed, 0x5681))
	s := &tcpState{cwnd: initialWindow, ssthresh: math.Inf(1), rto: initialRTO, limit: math.MaxUint64}
	buf := make([]byte, segment)
	rto := time.NewTimer(time.Hour)
	rto.Stop()
	defer rto.Stop()
	idle := time.NewTimer(time.Until(start))
	defer idle.Stop()
	end := time.NewTimer(time.Until(stop))
	defer end.Stop()
	active := false

	newFile := func() {
		s.cwnd, s.ssthresh, s.dups, s.recovering = initialWindow, math.Inf(1), 0, false
		if t.p.Files {
			size := t.p.MinFile + rng.IntN(t.p.MaxFile-t.p.MinFile+1)
			s.limit = s.una + uint64((size+segment-1)/segment)
		}
		active = true
	}
	offFor := func() time.Duration {
		return time.Duration(rng.ExpFloat64() * float64(t.p.MeanOff))
	}
	transmit := func(seq uint64) error {
		marshal(buf, ptTCP, t.p.SSRC, seq, time.Now())
		if _, err := t.send.WriteTo(buf, t.raddr); err != nil {
			return err
		}
		t.meter.sent(segment)
		return nil
	}
	fill := func() error {
		for active && s.next < s.limit && float64(s.next-s.una) < math.Floor(s.cwnd) {
			if s.next == s.una {
				rto.Reset(s.rto)
			}
			if err := transmit(s.next); err != nil {
				return err
			}
			s.next++
		}
		if s.srtt > 0 {
			t.meter.setEstimate(int(s.cwnd * segment * 8 / s.srtt.Seconds()))
		}
		return nil
	}
	first := true
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-end.C:
			return nil
		case <-idle.C:
			if first && t.p.Files && t.p.StartOff {
				first = false
				idle.Reset(offFor())
				continue
			}
			first = false
			newFile()
			err = fill()
		case <-rto.C:
			// RFC 6298 section 5: back off, restart from the first
			// unacknowledged segment with a window of one.
			s.ssthresh = math.Max(float64(s.next-s.una)/2, 2)
			s.cwnd, s.dups, s.recovering = 1, 0, false
			s.rto = min(2*s.rto, maxRTO)
			s.next = s.una
			err = fill()
		case a := <-t.acks:
			before := s.una
			err = t.onAck(s, a, transmit)
			if s.una > before {
				if s.next > s.una {
					rto.Reset(s.rto)
				} else {
					rto.Stop()
				}
			}
			if err == nil && t.p.Files && active && s.una >= s.limit {
				active = false
				rto.Stop()
				idle.Reset(offFor())
			}
			if err == nil {
				err = fill()
			}
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("tcp %s: %w", t.name, err)
		}
	}
}

// onAck is NewReno's reaction to one acknowledgement.
func (t *TCP) onAck(s *tcpState, a ack, transmit func(uint64) error) error {
	if a.next > s.next { // acknowledges what a go-back-N resend skipped
		s.next = a.next
	}
	if a.next <= s.una {
		if s.next == s.una {
			return nil
		}
		s.dups++
		switch {
		case s.recovering:
			s.cwnd++ // window inflation: each duplicate means a segment left
		case s.dups == 3:
			// RFC 5681 section 3.2 / RFC 6582: fast retransmit, halve.
			s.ssthresh = math.Max(float64(s.next-s.una)/2, 2)
			s.cwnd = s.ssthresh + 3
			s.recovering, s.recover = true, s.next
			return transmit(s.una)
		}
		return nil
	}
	acked := float64(a.next - s.una)
	s.una, s.dups = a.next, 0
	t.sampleRTT(s, time.Since(a.echo))
	switch {
	case s.recovering && s.una >= s.recover:
		s.recovering, s.cwnd = false, s.ssthresh
	case s.recovering: // partial ACK: the next hole was lost too
		s.cwnd = math.Max(s.cwnd-acked+1, 1)
		if err := transmit(s.una); err != nil {
			return err
		}
	case s.cwnd < s.ssthresh:
		s.cwnd += acked // slow start
	default:
		s.cwnd += acked / s.cwnd // congestion avoidance
	}
	return nil
}

// sampleRTT updates the retransmission timer (RFC 6298 section 2).
func (t *TCP) sampleRTT(s *tcpState, r time.Duration) {
	if r <= 0 {
		return
	}
	if s.srtt == 0 {
		s.srtt, s.rttvar = r, r/2
	} else {
		d := s.srtt - r
		if d < 0 {
			d = -d
		}
		s.rttvar = (3*s.rttvar + d) / 4
		s.srtt = (7*s.srtt + r) / 8
	}
	s.rto = min(max(s.srtt+4*s.rttvar, minRTO), maxRTO)
}

// Counters returns what the flow measured so far; the estimate is the
// window's rate, cwnd / smoothed RTT.
func (t *TCP) Counters() Counters { return t.meter.counters() }

// TakeDelays returns the one-way delays measured since the last call.
func (t *TCP) TakeDelays() []Delay { return t.meter.takeDelays() }

// Close closes both sockets and waits for the receiver and ACK reader.
func (t *TCP) Close() error {
	err := errors.Join(t.send.Close(), t.recv.Close())
	t.wg.Wait()
	if err != nil {
		return fmt.Errorf("tcp %s close: %w", t.name, err)
	}
	return nil
}
