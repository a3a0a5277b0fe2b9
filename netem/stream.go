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
// Simplifications, each erring towards less delay than a real TCP: acks
// are not packets (they take no capacity and are never lost; the sender
// learns of an arrival at once, and its RTT sample adds the reverse path's
// base delay), there is no congestion window or fast retransmit, and the
// send buffer has no limit.
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
	// sending (RFC 6298)
	sndNext     uint64
	unacked     []*segment // by offset
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
	minRTO             = 200 * time.Millisecond
	maxRTO             = 60 * time.Second
	maxRetransmissions = 15
)

func newStreamConn(h *hostNet, local, remote *net.TCPAddr, path []*link, handshakeRTT time.Duration) *streamConn {
	f := fnv.New64a()
	f.Write([]byte(local.String() + ">" + remote.String()))
	c := &streamConn{h: h, local: local, remote: remote, path: path, class: classTCP | f.Sum64()<<12,
		ooo: map[uint64]*segment{}, notify: make(chan struct{}, 1), deadline: makeDeadline()}
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
	var segs []*segment
	for rest := p; len(rest) > 0; {
		n := min(len(rest), mss)
		segs = append(segs, &segment{off: c.sndNext, data: append([]byte(nil), rest[:n]...)})
		c.sndNext += uint64(n)
		rest = rest[n:]
	}
	c.queue(segs)
	c.mu.Unlock()
	for _, s := range segs {
		c.transmit(s)
	}
	return len(p), nil
}

// queue adds segments to the unacknowledged ones and starts the timer
// (RFC 6298 section 5.1). Called with c.mu held.
func (c *streamConn) queue(segs []*segment) {
	now := time.Now()
	for _, s := range segs {
		s.sentAt, s.sends = now, 1
	}
	c.unacked = append(c.unacked, segs...)
	if !c.timerActive && len(c.unacked) > 0 {
		c.arm(c.rto)
	}
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
	defer c.mu.Unlock()
	if s.sends == 1 {
		c.sample(time.Since(s.sentAt) + back)
	}
	i := 0
	for i < len(c.unacked) {
		u := c.unacked[i]
		if u.off+uint64(len(u.data)) > upTo || (u.fin && !fin) {
			break
		}
		i++
	}
	if i == 0 {
		return
	}
	c.unacked = c.unacked[i:]
	if len(c.unacked) == 0 {
		c.timerActive = false
		c.timer.Stop()
		return
	}
	c.arm(c.rto)
}

// expire resends every segment outstanding for a whole RTO and backs the
// timer off (RFC 6298 section 5.4-5.6).
func (c *streamConn) expire() {
	c.mu.Lock()
	if !c.timerActive || c.closed && len(c.unacked) == 0 {
		c.mu.Unlock()
		return
	}
	now := time.Now()
	var resend []*segment
	next := c.rto
	for _, s := range c.unacked {
		if wait := s.sentAt.Add(c.rto).Sub(now); wait > 0 {
			next = min(next, wait)
			continue
		}
		if s.sends > maxRetransmissions {
			c.timerActive = false
			c.unacked = nil
			c.mu.Unlock()
			c.abort()
			return
		}
		s.sentAt = now
		s.sends++
		resend = append(resend, s)
	}
	if len(resend) > 0 {
		c.rto = min(2*c.rto, maxRTO)
		next = c.rto
	}
	if len(c.unacked) > 0 {
		c.arm(next)
	} else {
		c.timerActive = false
	}
	c.mu.Unlock()
	for _, s := range resend {
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
	fin := &segment{off: c.sndNext, fin: true}
	c.finSent = true
	c.queue([]*segment{fin})
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	c.transmit(fin)
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
