package netem

import (
	"math"
	"sync"
	"time"

	"github.com/rtclab/rtclab/phase"
)

// Direction of a link, seen from its host.
type Direction string

// Directions.
const (
	Uplink   Direction = "uplink"
	Downlink Direction = "downlink"
)

// LinkStats counts what a link did.
type LinkStats struct {
	// Packets and Bytes offered to the link; bytes are IP packet bytes
	// (IPv4 and UDP or TCP headers included), as the bottleneck counts them.
	Packets uint64
	Bytes   uint64
	// Lost is the number of packets dropped by random or bursty loss.
	Lost uint64
	// Down is the number of packets dropped because the link was down.
	Down uint64
	// Firewalled is the number of packets a firewall dropped (not counted
	// in Packets: they never reached the link).
	Firewalled uint64
	// QueueDrops is the number dropped because the bottleneck buffer was full.
	QueueDrops uint64
	// Duplicated is the number of extra copies delivered.
	Duplicated uint64
	// Delivered is the number of packets that came out (copies included).
	Delivered uint64
	// DeliveredBytes is their size in IP packet bytes.
	DeliveredBytes uint64
}

// link is one direction of a host's access link.
//
// A packet's way through it (all decided when it is offered):
// down? -> loss -> bottleneck (rate or trace, drop-tail buffer) ->
// delay + jitter -> duplication. The random parts come from fates, keyed by
// the packet's identity, so that they do not depend on the order in which
// goroutines offer packets at one instant.
type link struct {
	mu    sync.Mutex
	imp   Impairment
	fates *fates
	start time.Time // the trace's time zero
	stats LinkStats

	// bottleneck state
	busyUntil time.Time   // rate: when the last queued packet has left
	queued    []departure // packets in the buffer, by departure
	queuedB   int
	traceK    int64 // trace: the opportunity being consumed
	traceLeft int   // bytes left in it

	skew    time.Duration       // this link's fixed sub-2 µs extra delay
	lastOut time.Time           // for no-reorder
	ge      map[uint64]*geState // bursty loss, per packet class

	batch  []offer // offers not yet taken, oldest first (batch.go)
	offers int     // offers so far: the next one's arrival order
	// flushTimer fires at flushWhen, flushAt of the batch's first offer
	// or sooner; flushArmed says it is pending (set by armFlush, cleared
	// by run on firing).
	flushTimer *time.Timer
	flushArmed bool
	flushWhen  time.Time

	seq       uint64
	queue     pending
	due, rest []offer // flush's scratch lists, reused
	done      chan struct{}
	wg        sync.WaitGroup
	bufs      *bufPool
}

type departure struct {
	at   time.Time
	size int
}

// geState is a Gilbert–Elliott chain's state for one stream.
type geState struct {
	bad  bool
	next uint64 // index of the next packet to step to
}

// packet is one packet waiting in the link to come out at at.
type packet struct {
	at    time.Time
	seq   uint64
	delay time.Duration // through the link
	out   delivery
}

// delivery is where a packet goes when it comes out of a link, held by
// value so that a packet costs no allocation of its own: a UDP datagram
// (dgram set) goes to its socket (conn.go, deliver), a TCP segment to its
// stream's callback.
type delivery struct {
	dgram   datagram
	conn    *udpConn
	up      bool // towards vnet; otherwise to the socket's reader
	segment func(time.Duration)
}

func (d delivery) deliver(delay time.Duration) {
	if d.segment != nil {
		d.segment(delay)
		return
	}
	d.conn.deliver(d.dgram, d.up)
}

// drop frees what a packet that never comes out holds.
func (d delivery) drop() {
	if d.conn != nil {
		d.conn.h.bufs.put(d.dgram.buf)
	}
}

// pending is a min-heap of packets by delivery time, then arrival order;
// typed (not container/heap) so that a push boxes nothing.
type pending []packet

func (p pending) less(i, j int) bool {
	if p[i].at.Equal(p[j].at) {
		return p[i].seq < p[j].seq
	}
	return p[i].at.Before(p[j].at)
}

func (p *pending) push(x packet) {
	*p = append(*p, x)
	q := *p
	for i := len(q) - 1; i > 0; {
		up := (i - 1) / 2
		if !q.less(i, up) {
			break
		}
		q[i], q[up] = q[up], q[i]
		i = up
	}
}

func (p *pending) pop() packet {
	q := *p
	x := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = packet{} // let the delivery's buffer go
	q = q[:last]
	for i := 0; ; {
		m, l, r := i, 2*i+1, 2*i+2
		if l < len(q) && q.less(l, m) {
			m = l
		}
		if r < len(q) && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*p = q
	return x
}

func newLink(seed int64, host string, dir Direction, imp Impairment, bufs *bufPool) *link {
	f := newFates(uint64(seed), host+"/"+string(dir))
	l := &link{
		imp:   imp,
		fates: f,
		skew:  phase.LinkSkew(host + "/" + string(dir)),
		start: time.Now(),
		ge:    map[uint64]*geState{},
		done:  make(chan struct{}),
		bufs:  bufs,
	}
	l.flushTimer = time.NewTimer(time.Hour)
	l.flushTimer.Stop()
	l.wg.Add(1)
	go l.run()
	return l
}

// Draw numbers: each decision about a packet uses its own draw.
const (
	drawLoss = iota
	drawJitter1
	drawJitter2
	drawDuplicate
	drawGE
)

// IP packet overhead the bottleneck counts on top of a socket's payload: a
// rate limit or a capacity trace carries IP packets, so the IPv4 header
// (RFC 791 section 3.1, 20 bytes without options) and the UDP (RFC 768,
// 8 bytes) or TCP (RFC 9293 section 3.1, 20 bytes without options) header
// take capacity and buffer space like the payload does.
const (
	udpOverhead = 20 + 8
	tcpOverhead = 20 + 20
)

// send offers a UDP datagram of socket c; it goes on (conn.go, deliver)
// when it comes out of the link (twice if duplicated), unless it is
// dropped.
func (l *link) send(c *udpConn, d datagram, up bool) {
	data := d.data()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enqueue(offer{data: data, wire: len(data) + udpOverhead, key: offerKey(data), out: delivery{dgram: d, conn: c, up: up}})
}

// sendSegment offers a TCP segment of wire bytes (headers included) with
// the given fate identity; extra is delay spent outside the link (a
// host's stack). deliver is called with its one-way delay through the
// link when it comes out (twice if duplicated), unless it is dropped.
func (l *link) sendSegment(class, index uint64, wire int, extra time.Duration, deliver func(time.Duration)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enqueue(offer{class: class, index: index, wire: wire, extra: extra, key: 1 << 63, out: delivery{segment: deliver}})
}

// pass takes packets offered together at one instant through the link as
// one burst: down? -> loss -> bottleneck -> delay and jitter ->
// duplication, and queues what comes out. The burst's fate is that of its
// least identity. Called with l.mu held.
func (l *link) pass(burst []offer) {
	o := burst[0]
	for _, b := range burst[1:] {
		if b.class < o.class || b.class == o.class && b.index < o.index {
			o = b
		}
	}
	now, class, index := o.at, o.class, o.index
	wire := 0
	for _, b := range burst {
		wire += b.wire
	}
	n := uint64(len(burst))
	l.stats.Packets += n
	l.stats.Bytes += uint64(wire)
	imp := l.imp
	if imp.Down {
		l.stats.Down += n
		dropAll(burst)
		return
	}
	if l.lost(imp, class, index) {
		l.stats.Lost += n
		dropAll(burst)
		return
	}
	out := now
	if imp.limited() {
		var ok bool
		if out, ok = l.bottleneck(imp, now, wire); !ok {
			l.stats.QueueDrops += n
			dropAll(burst)
			return
		}
	}
	out = out.Add(imp.Delay + o.extra + l.skew + l.jitter(imp, class, index))
	if out.Before(now) {
		out = now
	}
	if !imp.Reorder {
		// FIFO, and never two packets at one instant: the sockets they go
		// to would wake together, and their readers run in any order.
		if !out.After(l.lastOut) {
			out = l.lastOut.Add(time.Nanosecond)
		}
		l.lastOut = out
	}
	copies := 1
	if imp.Duplicate > 0 && l.fates.uniform(class, index, drawDuplicate) < imp.Duplicate {
		copies = 2
		l.stats.Duplicated += n
	}
	d := out.Sub(now)
	for c := range copies {
		for _, b := range burst {
			l.seq++
			o := b.out
			if c > 0 && o.conn != nil {
				// A duplicate: the first copy's buffer is freed when
				// it is read, so the second needs its own.
				o.dgram.buf = l.bufs.get(o.dgram.data())
			}
			l.queue.push(packet{at: out, seq: l.seq, delay: d, out: o})
			l.stats.DeliveredBytes += uint64(b.wire)
		}
	}
}

// dropAll frees what the packets of a dropped burst hold.
func dropAll(burst []offer) {
	for _, b := range burst {
		b.out.drop()
	}
}

// lost decides random or bursty loss.
func (l *link) lost(imp Impairment, class, index uint64) bool {
	if imp.Loss <= 0 {
		return false
	}
	if imp.BurstLength <= 1 {
		return l.fates.uniform(class, index, drawLoss) < imp.Loss
	}
	// Gilbert–Elliott (simple Gilbert: bad state loses everything).
	// Leaving bad: r = 1/burst; entering: p = r·loss/(1-loss), so that the
	// stationary share of bad time p/(p+r) equals loss.
	r := 1 / imp.BurstLength
	p := r * imp.Loss / (1 - imp.Loss)
	st := l.ge[class]
	if st == nil {
		st = &geState{next: index}
		st.bad = l.fates.uniform(class, index, drawGE+1) < imp.Loss // start in the stationary mix
		l.ge[class] = st
	}
	if index < st.next {
		// A packet from the past (reordered at the sender): judge it
		// by an independent draw at the long-run rate.
		return l.fates.uniform(class, index, drawLoss) < imp.Loss
	}
	for ; st.next <= index; st.next++ {
		u := l.fates.uniform(class, st.next, drawGE)
		if st.bad {
			st.bad = u >= r
		} else {
			st.bad = u < p
		}
		if index-st.next > 1<<16 { // a huge gap: restart in the stationary mix
			st.next = index
		}
	}
	return st.bad
}

// bottleneck serialises the packet through the rate- or trace-limited
// queue and returns when it leaves, or false when the buffer is full.
func (l *link) bottleneck(imp Impairment, now time.Time, size int) (time.Time, bool) {
	// Forget packets that have left.
	i := 0
	for i < len(l.queued) && !l.queued[i].at.After(now) {
		l.queuedB -= l.queued[i].size
		i++
	}
	l.queued = l.queued[i:]
	if l.queuedB+size > imp.queueLimit() {
		return time.Time{}, false
	}
	var out time.Time
	if imp.Trace != nil {
		out = l.traceDeparture(imp.Trace, now, size)
	} else {
		start := now
		if l.busyUntil.After(start) {
			start = l.busyUntil
		}
		out = start.Add(time.Duration(float64(size*8) / float64(imp.Rate) * float64(time.Second)))
		l.busyUntil = out
	}
	l.queued = append(l.queued, departure{at: out, size: size})
	l.queuedB += size
	return out, true
}

// traceDeparture spends delivery opportunities on size bytes of IP
// packets: each opportunity carries one 1500-byte IP packet's worth, and
// small packets share one, as in mahimahi's mm-link.
// Opportunities that pass while the buffer is empty are lost, as in
// mm-link. Called with the departed packets already forgotten.
func (l *link) traceDeparture(t *Trace, now time.Time, size int) time.Time {
	if len(l.queued) == 0 {
		// Idle: the next packet takes the first opportunity from now on.
		l.traceK, l.traceLeft = t.first(now.Sub(l.start))-1, 0
	}
	for need := size; need > 0; {
		if l.traceLeft == 0 {
			l.traceK++
			l.traceLeft = mtu
		}
		take := min(need, l.traceLeft)
		l.traceLeft -= take
		need -= take
	}
	return l.start.Add(t.at(l.traceK))
}

// jitter draws the packet's delay variation.
func (l *link) jitter(imp Impairment, class, index uint64) time.Duration {
	if imp.Jitter <= 0 {
		return 0
	}
	u1 := l.fates.uniform(class, index, drawJitter1)
	j := float64(imp.Jitter)
	if imp.JitterDist == JitterNormal || imp.JitterDist == JitterHalfNormal {
		u2 := l.fates.uniform(class, index, drawJitter2)
		z := math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2) // Box–Muller
		z = max(-3, min(3, z))
		if imp.JitterDist == JitterHalfNormal {
			z = math.Abs(z) // RFC 8868 section 4.5.3
		}
		return time.Duration(z * j)
	}
	return time.Duration((2*u1 - 1) * j)
}

// run takes the offers of past instants through the link (batch.go) and
// delivers queued packets when they are due, on one goroutine: a
// time.AfterFunc per instant's flush started a goroutine each time, whose
// stack then grew in the sort (about 6 % of a quickstart run's CPU).
//
// Its two timers are only ever reset once fired, or to a new time: a
// reset of a pending timer marks it modified, and the runtime then
// rebuilds the whole timer heap (runtime/time.go, timers.adjust), which in
// a 50-person room, with thousands of pion's timers, took 10 % of the CPU.
func (l *link) run() {
	defer l.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var armed time.Time // when timer fires, zero when not pending
	var due []packet    // reused: the packets of one instant
	for {
		l.mu.Lock()
		due = due[:0]
		now := time.Now()
		l.flushDue(now)
		if len(l.batch) > 0 {
			l.armFlush(l.batch[0].at, now)
		}
		for len(l.queue) > 0 && !l.queue[0].at.After(now) {
			due = append(due, l.queue.pop())
			l.stats.Delivered++
		}
		var next time.Time
		if len(l.queue) > 0 {
			next = l.queue[0].at
		}
		l.mu.Unlock()
		for i := range due {
			due[i].out.deliver(due[i].delay)
			due[i] = packet{}
		}
		if !next.IsZero() && next.Sub(now) <= time.Nanosecond {
			// The next packet of a burst, 1 ns on (packets never come
			// out at one instant): nothing can need the goroutine
			// sooner, since an offer is taken 1 ns after its instant at
			// the earliest (flushAt), so it sleeps, which costs a
			// fraction of a select on two timers. Most deliveries are
			// these: a video frame leaves a link 1 ns a packet.
			time.Sleep(next.Sub(now))
			select {
			case <-l.done:
				return
			default:
			}
			continue
		}
		if !next.IsZero() && !next.Equal(armed) {
			timer.Reset(next.Sub(now))
			armed = next
		}
		select {
		case <-l.done:
			return
		case <-timer.C:
			armed = time.Time{}
		case <-l.flushTimer.C:
			l.mu.Lock()
			l.flushArmed = false
			l.mu.Unlock()
		}
	}
}

// set changes the impairment for packets offered from now on.
func (l *link) set(imp Impairment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.flushDue(now) // offered before: the impairment they met
	if imp.Trace != l.imp.Trace {
		l.start, l.traceK, l.traceLeft = now, 0, 0
	}
	l.imp = imp
	// Offers of this instant meet the new impairment, which may let them
	// out sooner than the pending flush. (That flush stays: packets taken
	// above come out no sooner, and it wakes run to deliver them.)
	if len(l.batch) > 0 {
		l.armFlush(l.batch[0].at, now)
	}
}

func (l *link) get() Impairment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.imp
}

func (l *link) firewalled() {
	l.mu.Lock()
	l.stats.Firewalled++
	l.mu.Unlock()
}

func (l *link) snapshot() LinkStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushDue(time.Now()) // what was offered before now is counted
	return l.stats
}

// close stops delivery; packets still in flight are dropped.
func (l *link) close() {
	close(l.done)
	l.wg.Wait()
	l.flushTimer.Stop()
}
