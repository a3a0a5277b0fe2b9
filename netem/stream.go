package netem

import (
	"github.com/rtclab/rtclab/phase"
	"hash/fnv"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// streamConn is one end of an emulated TCP connection. What it writes is
// cut into segments of at most mss bytes that cross path (the writer's
// uplink, then the reader's downlink) into the peer, which puts them back
// in order. A segment lost on a link or dropped by a full bottleneck
// buffer is sent again when its retransmission timeout expires (RFC 6298),
// so the delay a reader sees over a constrained or lossy link is the one
// TCP's repair causes.
//
// The sender keeps a congestion window (RFC 5681: slow start from an
// initial window of 10 segments, RFC 6928; congestion avoidance; fast
// retransmit and NewReno recovery, RFC 6582; after a retransmission
// timeout one segment, then slow start again from the earliest
// unacknowledged byte), so over a link slower than what is
// written the excess waits in the send buffer, as in a real stack, instead
// of crossing the bottleneck again and again. Simplifications: acks are
// not packets (they take no capacity and are never lost; the sender
// learns of an arrival at once, and its RTT sample adds the reverse path's
// base delay), loss is found by three duplicate acks or a timeout (no
// SACK: one hole repaired per round trip), and the send buffer has no limit
// (Linux autotunes one up to 4 MiB, over a minute at 300 kbit/s).
type streamConn struct {
	h             *hostNet // the host this end is on (its capture)
	local, remote *net.TCPAddr
	path          []*link // the links a segment crosses, in order
	peer          *streamConn
	class         uint64 // fate class of this direction's segments

	mu     sync.Mutex
	closed bool
	// receiving
	buf     []byte
	rcvNext uint64              // next byte expected, in stream offsets
	ooo     map[uint64]*segment // arrived ahead of a gap, by offset
	eof     bool                // the peer's FIN arrived in order
	notify  chan struct{}
	// sending (RFC 6298, RFC 5681)
	sndNext     uint64
	unacked     []*segment // sent and not yet acknowledged, by offset
	pending     []*segment // written (or to resend), waiting for the window, by offset
	inflight    int        // payload bytes of unacked
	cwnd        int        // congestion window, bytes
	ssthresh    int        // slow start threshold, bytes
	dupAcks     int        // acks in a row that acknowledged nothing new
	recovering  bool       // in fast recovery (RFC 6582) until recover is acknowledged
	recover     uint64
	finSent     bool
	srtt, rttv  time.Duration
	rto         time.Duration
	timer       *time.Timer
	timerActive bool

	deadline *deadline
}

// segment is a piece of the stream: data at offset, or the FIN after it.
type segment struct {
	off    uint64
	data   []byte
	fin    bool
	sentAt time.Time
	sends  int
}

// mss is the largest segment payload: a 1500-byte IP packet less the IPv4
// and TCP headers.
const mss = 1500 - tcpOverhead

// RTO bounds: RFC 6298 section 2.4 says at least 1 s, but every common
// stack uses 200 ms (Linux's TCP_RTO_MIN), which is what users meet; the
// upper bound is section 2.5's 60 s. maxRetransmissions gives up on a
// segment like Linux's tcp_retries2.
const (
	initialWindow      = 10 * mss // RFC 6928
	minRTO             = 200 * time.Millisecond
	maxRTO             = 60 * time.Second
	maxRetransmissions = 15
)

func newStreamConn(h *hostNet, local, remote *net.TCPAddr, path []*link, handshakeRTT time.Duration) *streamConn {
	f := fnv.New64a()
	f.Write([]byte(local.String() + ">" + remote.String()))
	c := &streamConn{h: h, local: local, remote: remote, path: path, class: classTCP | f.Sum64()<<12,
		ooo: map[uint64]*segment{}, notify: make(chan struct{}, 1), deadline: makeDeadline(),
		cwnd: initialWindow, ssthresh: 1 << 30}
	c.sample(handshakeRTT)
	return c
}

// sample folds one RTT measurement into the RTO (RFC 6298 section 2.3).
// Called with c.mu held or before c is shared.
func (c *streamConn) sample(r time.Duration) {
	if c.srtt == 0 {
		c.srtt, c.rttv = r, r/2
	} else {
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttv = (3*c.rttv + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	c.rto = min(max(c.srtt+4*c.rttv, minRTO), maxRTO)
}

// reverseDelay is the base one-way delay an ack would take back to c.
func (c *streamConn) reverseDelay() time.Duration {
	d := streamLatency
	for _, l := range c.peer.path {
		d += l.get().Delay
	}
	return d
}

func (c *streamConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.closed || c.finSent {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	for rest := p; len(rest) > 0; {
		n := min(len(rest), mss)
		c.pending = append(c.pending, &segment{off: c.sndNext, data: append([]byte(nil), rest[:n]...)})
		c.sndNext += uint64(n)
		rest = rest[n:]
	}
	send := c.release()
	c.mu.Unlock()
	for _, s := range send {
		c.transmit(s)
	}
	return len(p), nil
}

// release moves what the congestion window lets out from pending to
// unacked and returns it, to be transmitted once c.mu is released; one
// segment always goes when nothing is in flight. It starts the
// retransmission timer (RFC 6298 section 5.1). Called with c.mu held.
func (c *streamConn) release() []*segment {
	var out []*segment
	now := time.Now()
	for len(c.pending) > 0 {
		s := c.pending[0]
		if c.inflight > 0 && c.inflight+len(s.data) > c.cwnd {
			break
		}
		c.pending = c.pending[1:]
		s.sentAt = now
		s.sends++
		c.unacked = append(c.unacked, s)
		c.inflight += len(s.data)
		out = append(out, s)
	}
	if !c.timerActive && len(c.unacked) > 0 {
		c.arm(c.rto)
	}
	return out
}

// arm (re)starts the retransmission timer. Called with c.mu held.
func (c *streamConn) arm(d time.Duration) {
	c.timerActive = true
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.expire)
		return
	}
	c.timer.Reset(d)
}

// transmit sends one segment across the path, capturing it as it leaves
// this host and as it reaches the peer's.
func (c *streamConn) transmit(s *segment) {
	flags := byte(tcpACK | tcpPSH)
	if s.fin {
		flags = tcpACK | tcpFIN
	}
	c.mu.Lock()
	ack := c.rcvNext
	c.mu.Unlock()
	c.h.capture.segment(time.Now(), c.local, c.remote, s.off+1, ack+1, flags, s.data)
	c.hop(0, s, flags, ack)
}

func (c *streamConn) hop(i int, s *segment, flags byte, ack uint64) {
	l := c.path[i]
	index := s.off
	if s.fin {
		index |= 1 << 63
	}
	l.mu.Lock()
	if n := l.fates.occurrence(c.class, index); n > 0 {
		index ^= n * 0x9E3779B97F4A7C15 // a retransmission draws afresh
	}
	l.mu.Unlock()
	extra := time.Duration(0)
	if i == 0 {
		extra = streamLatency
	}
	l.sendSegment(c.class, index, len(s.data)+tcpOverhead, extra, func(time.Duration) {
		if i+1 < len(c.path) {
			c.hop(i+1, s, flags, ack)
			return
		}
		p := c.peer
		p.h.capture.segment(time.Now(), p.remote, p.local, s.off+1, ack+1, flags, s.data)
		p.receive(s)
	})
}

// receive takes a segment that arrived, passes what is now in order to
// the reader, and acknowledges it to the sender.
func (c *streamConn) receive(s *segment) {
	c.mu.Lock()
	if s.off >= c.rcvNext && c.ooo[s.off] == nil && !c.eof {
		c.ooo[s.off] = s
	}
	for {
		n := c.ooo[c.rcvNext]
		if n == nil {
			break
		}
		delete(c.ooo, c.rcvNext)
		if n.fin {
			c.eof = true
			break
		}
		c.buf = append(c.buf, n.data...)
		c.rcvNext += uint64(len(n.data))
	}
	acked, fin := c.rcvNext, c.eof
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	c.peer.acknowledged(acked, fin, s, c.peer.reverseDelay())
}

// acknowledged drops what the peer holds in order from the unacknowledged
// segments (RFC 6298 sections 5.2 and 5.3) and takes an RTT sample from
// a segment sent once (Karn's algorithm, section 3).
func (c *streamConn) acknowledged(upTo uint64, fin bool, s *segment, back time.Duration) {
	c.mu.Lock()
	if s.sends == 1 {
		c.sample(time.Since(s.sentAt) + back)
	}
	done := func(u *segment) bool { return u.off+uint64(len(u.data)) <= upTo && (!u.fin || fin) }
	acked := 0
	i := 0
	for i < len(c.unacked) && done(c.unacked[i]) {
		acked += len(c.unacked[i].data)
		i++
	}
	// Segments put back for resending after a timeout that the peer held
	// all along (behind the gap) are acknowledged too.
	j := 0
	for j < len(c.pending) && c.pending[j].sends > 0 && done(c.pending[j]) {
		j++
	}
	c.pending = c.pending[j:]
	var send []*segment
	if i == 0 {
		// A segment that arrived beyond a gap: a duplicate ack. The third
		// in a row resends the earliest unacknowledged segment at once
		// and halves the window (fast retransmit and fast recovery, RFC
		// 5681 section 3.2, with RFC 6582's recovery point).
		if len(c.unacked) > 0 && !c.recovering {
			c.dupAcks++
			if c.dupAcks == 3 {
				c.ssthresh = max(c.inflight/2, 2*mss)
				c.cwnd = c.ssthresh
				c.recovering = true
				c.recover = c.sndNext
				send = append(send, c.resend(c.unacked[0]))
			}
		}
		c.mu.Unlock()
		for _, s := range send {
			c.transmit(s)
		}
		return
	}
	c.dupAcks = 0
	c.unacked = c.unacked[i:]
	c.inflight -= acked
	switch {
	case c.recovering && upTo < c.recover && len(c.unacked) > 0:
		// A partial ack (RFC 6582 section 3.2): the next hole is lost too.
		send = append(send, c.resend(c.unacked[0]))
	case c.recovering:
		c.recovering = false
	case c.cwnd < c.ssthresh:
		// RFC 5681 section 3.1: slow start below ssthresh (at most one
		// segment per ack), then one segment per window.
		c.cwnd += min(acked, mss)
	default:
		c.cwnd += max(mss*mss/c.cwnd, 1)
	}
	if len(c.unacked) == 0 {
		c.timerActive = false
		c.timer.Stop()
	} else {
		c.arm(c.rto)
	}
	send = append(send, c.release()...)
	c.mu.Unlock()
	for _, s := range send {
		c.transmit(s)
	}
}

// resend marks an unacknowledged segment sent again now and returns it.
// Called with c.mu held.
func (c *streamConn) resend(s *segment) *segment {
	s.sentAt = time.Now()
	s.sends++
	return s
}

// expire handles a retransmission timeout (RFC 6298 section 5.4-5.7,
// RFC 5681 section 3.1): the window falls to one segment, ssthresh to half
// what was in flight, every unacknowledged segment goes back in front of
// the pending ones, and the earliest is sent again; the timer backs off.
func (c *streamConn) expire() {
	c.mu.Lock()
	if !c.timerActive || len(c.unacked) == 0 {
		c.timerActive = false
		c.mu.Unlock()
		return
	}
	if c.unacked[0].sends > maxRetransmissions {
		c.timerActive = false
		c.unacked, c.pending = nil, nil
		c.mu.Unlock()
		c.abort()
		return
	}
	c.ssthresh = max(c.inflight/2, 2*mss)
	c.cwnd = mss
	c.recovering, c.dupAcks = false, 0
	c.pending = append(c.unacked, c.pending...)
	c.unacked, c.inflight = nil, 0
	c.rto = min(2*c.rto, maxRTO)
	c.timerActive = false
	send := c.release()
	c.mu.Unlock()
	for _, s := range send {
		c.transmit(s)
	}
}

func (c *streamConn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		switch {
		case c.closed:
			c.mu.Unlock()
			return 0, net.ErrClosed
		case len(c.buf) > 0:
			n := copy(p, c.buf)
			c.buf = c.buf[n:]
			c.mu.Unlock()
			return n, nil
		case c.eof:
			c.mu.Unlock()
			return 0, io.EOF
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-c.deadline.wait():
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// Close sends a FIN after what was written; segments not yet
// acknowledged are still repaired.
func (c *streamConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	c.finSent = true
	c.pending = append(c.pending, &segment{off: c.sndNext, fin: true})
	send := c.release()
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	for _, s := range send {
		c.transmit(s)
	}
	return nil
}

// abort ends the connection at once: the network is gone.
func (c *streamConn) abort() {
	c.mu.Lock()
	c.closed = true
	c.timerActive = false
	c.unacked = nil
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *streamConn) CloseRead() error  { return nil }
func (c *streamConn) CloseWrite() error { return c.Close() }
func (c *streamConn) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{c}, r)
}
func (c *streamConn) LocalAddr() net.Addr                    { return c.local }
func (c *streamConn) RemoteAddr() net.Addr                   { return c.remote }
func (c *streamConn) SetDeadline(t time.Time) error          { c.deadline.set(t); return nil }
func (c *streamConn) SetReadDeadline(t time.Time) error      { c.deadline.set(t); return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error       { return nil }
func (c *streamConn) SetLinger(int) error                    { return nil }
func (c *streamConn) SetKeepAlive(bool) error                { return nil }
func (c *streamConn) SetKeepAlivePeriod(time.Duration) error { return nil }
func (c *streamConn) SetNoDelay(bool) error                  { return nil }

func (c *streamConn) SetReadBuffer(int) error  { return nil }
func (c *streamConn) SetWriteBuffer(int) error { return nil }

// streamLatency is what a TCP segment spends in the stacks on top of the
// links' delay; derived in package phase, it keeps TCP events off the
// instants of UDP ones (TURN allocations over TCP and UDP racing at one
// instant made ICE's choices, so whole runs, differ for one seed).
var streamLatency = phase.StreamLatency.Value()
