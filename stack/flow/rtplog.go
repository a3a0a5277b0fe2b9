package flow

import (
	"sync"
	"time"
)

// PacketRecord is one line of the per-packet log RFC 8868 section 3.1
// asks every experiment to keep: when the packet was sent or received,
// and its RTP payload type, SSRC, sequence number, timestamp, marker bit
// and payload size.
type PacketRecord struct {
	At          time.Time
	PayloadType uint8
	SSRC        uint32
	Seq         uint16
	Timestamp   uint32
	Marker      bool
	PayloadSize int
}

// packetLog keeps a flow's packet records while on (nil: never).
type packetLog struct {
	mu         sync.Mutex
	on         bool
	sent, recv []PacketRecord
}

func (l *packetLog) enable() {
	l.mu.Lock()
	l.on = true
	l.mu.Unlock()
}

func (l *packetLog) add(sent bool, r PacketRecord) {
	if l == nil {
		return
	}
	l.mu.Lock()
	switch {
	case !l.on:
	case sent:
		l.sent = append(l.sent, r)
	default:
		l.recv = append(l.recv, r)
	}
	l.mu.Unlock()
}

func (l *packetLog) records() (sent, received []PacketRecord) {
	if l == nil {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]PacketRecord(nil), l.sent...), append([]PacketRecord(nil), l.recv...)
}
