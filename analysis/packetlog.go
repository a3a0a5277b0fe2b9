package analysis

import (
	"fmt"
	"time"

	"github.com/rtclab/rtclab/spool"
)

// PacketLog is an append-only log of Packets (a send or arrival log) kept
// compact for long calls: each packet is stored as the difference from
// the one before (sequence number, RTP timestamp, time) in varints, about
// 10 bytes where a Packet in a slice takes 48 and up to as much again in
// spare capacity, and a long log is spilled to a temporary file (package
// spool), so the heap does not grow with the call. An hour of the
// quickstart call puts about 820,000 packets in its logs. Packets gives
// back exactly what was appended: every At is the first packet's At plus
// the monotonic time elapsed since it (time.Time.Sub), so differences and
// comparisons between packets are exact to the nanosecond.
//
// The zero value is an empty log. A PacketLog is not safe for concurrent
// use: its owner locks.
type PacketLog struct {
	log   spool.Log
	n     int
	first time.Time
	prev  Packet
}

// flag bits of a record's first byte.
const (
	logRTX = 1 << iota
	logPadding
)

// Append adds p at the end of the log.
func (l *PacketLog) Append(p Packet) {
	if l.n == 0 {
		l.first = p.At
		l.prev = Packet{At: p.At}
	}
	var flags byte
	if p.RTX {
		flags |= logRTX
	}
	if p.Padding {
		flags |= logPadding
	}
	l.log.Append(spool.Record{Flags: flags, V: [4]int64{
		int64(int16(p.Seq - l.prev.Seq)), int64(int32(p.Timestamp - l.prev.Timestamp)), int64(p.At.Sub(l.prev.At)), int64(p.Size),
	}})
	l.prev = p
	l.n++
}

// Len is the number of packets in the log.
func (l *PacketLog) Len() int { return l.n }

// Bytes is the memory the log holds on the heap.
func (l *PacketLog) Bytes() int { return l.log.InMemory() }

// Packets decodes the log: a new slice of Len packets in append order
// (nil when empty). An error means a spilled part could not be read back.
func (l *PacketLog) Packets() ([]Packet, error) {
	if l.n == 0 {
		return nil, nil // as a nil slice copied
	}
	out := make([]Packet, 0, l.n)
	var prev Packet
	var elapsed time.Duration
	err := l.log.Records(func(r spool.Record) {
		v := r.V
		elapsed += time.Duration(v[2])
		p := Packet{
			Seq:       prev.Seq + uint16(v[0]),
			Timestamp: prev.Timestamp + uint32(v[1]),
			At:        l.first.Add(elapsed),
			Size:      int(v[3]),
			RTX:       r.Flags&logRTX != 0,
			Padding:   r.Flags&logPadding != 0,
		}
		out = append(out, p)
		prev = p
	})
	if err == nil && len(out) != l.n {
		err = fmt.Errorf("packet log: %d of %d packets read back", len(out), l.n)
	}
	return out, err
}
