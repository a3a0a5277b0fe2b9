package netem

import (
	"container/heap"
	"fmt"
	"sync"
	"time"
)

// Impairment is what one direction of an access link does to packets.
// The zero value passes every packet at once.
type Impairment struct {
	// Loss is the probability (0..1) that a packet is dropped, independently
	// of every other packet (Bernoulli loss).
	Loss float64
	// Delay is the one-way delay added to every packet.
	Delay time.Duration
}

// Validate reports the first impossible value.
func (i Impairment) Validate() error {
	if i.Loss < 0 || i.Loss > 1 {
		return fmt.Errorf("%w: loss %v outside 0..1", ErrConfig, i.Loss)
	}
	if i.Delay < 0 {
		return fmt.Errorf("%w: delay %v is negative", ErrConfig, i.Delay)
	}
	return nil
}

// Direction of a link, seen from its host.
type Direction string

// Directions.
const (
	Uplink   Direction = "uplink"
	Downlink Direction = "downlink"
)

// LinkStats counts what a link did.
type LinkStats struct {
	// Packets offered to the link.
	Packets uint64
	// Bytes offered to the link.
	Bytes uint64
	// Lost is the number of packets dropped by random loss.
	Lost uint64
	// Delivered is the number of packets that came out of the link.
	Delivered uint64
}

// link is one direction of a host's access link: it decides each packet's
// fate and delivers survivors in order after their delay.
type link struct {
	mu    sync.Mutex
	imp   Impairment
	fates *fates
	stats LinkStats
	seq   uint64
	queue pending
	wake  chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
}

type packet struct {
	at      time.Time
	seq     uint64
	deliver func()
}

// pending is a min-heap of packets by delivery time, then arrival order.
type pending []packet

func (p pending) Len() int { return len(p) }
func (p pending) Less(i, j int) bool {
	if p[i].at.Equal(p[j].at) {
		return p[i].seq < p[j].seq
	}
	return p[i].at.Before(p[j].at)
}
func (p pending) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p *pending) Push(x any)   { *p = append(*p, x.(packet)) }
func (p *pending) Pop() any {
	old := *p
	x := old[len(old)-1]
	*p = old[:len(old)-1]
	return x
}

func newLink(seed int64, host string, dir Direction, imp Impairment) *link {
	l := &link{
		imp:   imp,
		fates: newFates(uint64(seed), host+"/"+string(dir)),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	l.wg.Add(1)
	go l.run()
	return l
}

// send offers a packet; deliver is called (once) when it comes out of the
// link, unless it is lost.
func (l *link) send(data []byte, deliver func()) {
	l.mu.Lock()
	l.stats.Packets++
	l.stats.Bytes += uint64(len(data))
	imp := l.imp
	class, index := l.fates.identity(data)
	if imp.Loss > 0 && l.fates.uniform(class, index, 0) < imp.Loss {
		l.stats.Lost++
		l.mu.Unlock()
		return
	}
	if imp.Delay == 0 && len(l.queue) == 0 {
		l.stats.Delivered++
		l.mu.Unlock()
		deliver()
		return
	}
	l.seq++
	heap.Push(&l.queue, packet{at: time.Now().Add(imp.Delay), seq: l.seq, deliver: deliver})
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run delivers queued packets when they are due.
func (l *link) run() {
	defer l.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		l.mu.Lock()
		var due []func()
		now := time.Now()
		for len(l.queue) > 0 && !l.queue[0].at.After(now) {
			p := heap.Pop(&l.queue).(packet)
			due = append(due, p.deliver)
			l.stats.Delivered++
		}
		next := time.Duration(-1)
		if len(l.queue) > 0 {
			next = l.queue[0].at.Sub(now)
		}
		l.mu.Unlock()
		for _, d := range due {
			d()
		}
		var tc <-chan time.Time
		if next >= 0 {
			timer.Reset(next)
			tc = timer.C
		}
		select {
		case <-l.done:
			return
		case <-l.wake:
		case <-tc:
		}
	}
}

// set changes the impairment for packets offered from now on.
func (l *link) set(imp Impairment) {
	l.mu.Lock()
	l.imp = imp
	l.mu.Unlock()
}

func (l *link) snapshot() LinkStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// close stops delivery; packets still in flight are dropped.
func (l *link) close() {
	close(l.done)
	l.wg.Wait()
}
