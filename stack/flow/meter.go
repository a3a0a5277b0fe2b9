package flow

import (
	"sync"
	"time"
)

// Counters are what a flow measured so far. Byte counts are RTP packets
// (header and payload) for media, UDP payloads for cross traffic.
type Counters struct {
	// SentBytes and SentPackets count what left the sender, repairs
	// included.
	SentBytes, SentPackets uint64
	// SentPayloadBytes is SentBytes without the RTP headers (media), what
	// the encoder's rate and pion's GCC count (its feedback adapter takes
	// len(payload)); equal to SentBytes for cross traffic.
	SentPayloadBytes uint64
	// ReceivedBytes and ReceivedPackets count what reached the
	// receiver's application, duplicates excluded.
	ReceivedBytes, ReceivedPackets uint64
	// FeedbackBytes counts the RTCP the receiver sent back (TWCC
	// feedback and NACKs; compound packets as marshalled, before SRTCP):
	// RFC 8867 section 4.1 item 1.D, feedback message overhead. Media
	// only.
	FeedbackBytes uint64
	// Estimate is the sender's current target bitrate in bit/s (GCC's
	// estimate for media, the window's rate for TCP-like, the configured
	// rate for CBR); 0 when the flow has none.
	Estimate int
}

// Delay is the one-way delay of one packet.
type Delay struct {
	// Sent is when the packet left the sender.
	Sent time.Time
	// OWD is its one-way delay to the receiver's application.
	OWD time.Duration
	// Size is its size in bytes.
	Size int
}

// Loss counts packets by their fate (media flows only).
type Loss struct {
	// Sent is the number of distinct packets sent before the cut-off.
	Sent uint64
	// Lost is how many of them did not arrive on their first
	// transmission.
	Lost uint64
	// Unrepaired is how many never arrived, retransmissions included.
	Unrepaired uint64
}

// meter is the shared bookkeeping of one flow.
type meter struct {
	mu     sync.Mutex
	c      Counters
	delays []Delay
}

func (m *meter) sent(size int) { m.sentRTP(size, size) }

// sentRTP counts a packet of size bytes that carries payload bytes of
// media.
func (m *meter) sentRTP(size, payload int) {
	m.mu.Lock()
	m.c.SentBytes += uint64(size)
	m.c.SentPayloadBytes += uint64(payload)
	m.c.SentPackets++
	m.mu.Unlock()
}

func (m *meter) received(size int, sent, now time.Time, measure bool) {
	m.mu.Lock()
	m.c.ReceivedBytes += uint64(size)
	m.c.ReceivedPackets++
	if measure {
		m.delays = append(m.delays, Delay{Sent: sent, OWD: now.Sub(sent), Size: size})
	}
	m.mu.Unlock()
}

func (m *meter) feedback(size int) {
	m.mu.Lock()
	m.c.FeedbackBytes += uint64(size)
	m.mu.Unlock()
}

func (m *meter) setEstimate(bps int) {
	m.mu.Lock()
	m.c.Estimate = bps
	m.mu.Unlock()
}

func (m *meter) counters() Counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c
}

// takeDelays returns the delays measured since the last call.
func (m *meter) takeDelays() []Delay {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.delays
	m.delays = nil
	return out
}
