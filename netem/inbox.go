package netem

import "sync"

// inbox is a socket's receive buffer: datagrams that came out of the
// downlink, oldest first, until its reader takes them. It holds at most
// recvQueue of them, as a kernel socket's receive buffer holds a bounded
// amount, and grows to that as it fills: a channel of recvQueue entries
// took 96 KiB per socket up front, some 2 MB of a quickstart run's
// allocation, where a socket rarely holds more than a few datagrams.
type inbox struct {
	mu   sync.Mutex
	ring []datagram // len(ring) is the capacity; empty until the first push
	head int        // index of the oldest datagram
	n    int        // datagrams held
	// ready holds a token while the inbox may hold datagrams: push
	// leaves one, and a reader that finds the inbox empty waits for it.
	ready chan struct{}
}

// inboxStart is the inbox's first capacity.
const inboxStart = 16

func newInbox() *inbox { return &inbox{ready: make(chan struct{}, 1)} }

// push appends d and wakes a waiting reader; false when the inbox
// already holds recvQueue datagrams (the caller drops d).
func (b *inbox) push(d datagram) bool {
	b.mu.Lock()
	if b.n == recvQueue {
		b.mu.Unlock()
		return false
	}
	if b.n == len(b.ring) {
		b.grow()
	}
	b.ring[(b.head+b.n)%len(b.ring)] = d
	b.n++
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default: // a token is already there
	}
	return true
}

// grow doubles the ring (up to recvQueue), oldest datagram first.
func (b *inbox) grow() {
	size := min(max(2*len(b.ring), inboxStart), recvQueue)
	ring := make([]datagram, size)
	for i := range b.n {
		ring[i] = b.ring[(b.head+i)%len(b.ring)]
	}
	b.ring, b.head = ring, 0
}

// pop takes the oldest datagram; false when the inbox is empty. While
// datagrams remain it leaves a token, so that of several readers waiting
// on one socket the next one wakes too.
func (b *inbox) pop() (datagram, bool) {
	b.mu.Lock()
	if b.n == 0 {
		b.mu.Unlock()
		return datagram{}, false
	}
	d := b.ring[b.head]
	b.ring[b.head] = datagram{}
	b.head = (b.head + 1) % len(b.ring)
	b.n--
	more := b.n > 0
	b.mu.Unlock()
	if more {
		select {
		case b.ready <- struct{}{}:
		default:
		}
	}
	return d, true
}
