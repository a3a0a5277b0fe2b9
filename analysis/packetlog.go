package analysis

import (
	"encoding/binary"
	"time"
)

// PacketLog is an append-only log of Packets (a send or arrival log) kept
// compact for long calls: each packet is stored as the difference from
// the one before (sequence number, RTP timestamp, time) in varints, about
// 9 bytes where a Packet in a slice takes 48 and up to as much again in
// spare capacity. An hour of the quickstart call puts about 820,000
// packets in the logs. Packets gives back exactly what was appended:
// every At is the first packet's At plus the monotonic time elapsed since
// it (time.Time.Sub), so differences and comparisons between packets are
// exact to the nanosecond.
//
// The zero value is an empty log. A PacketLog is not safe for concurrent
// use: its owner locks.
type PacketLog struct {
	chunks [][]byte // full chunks, then the one being filled
	n      int
	first  time.Time
	prev   Packet
}

// packetLogChunk is the size of each chunk: appends never copy what is
// stored, and spare capacity is at most one chunk.
const packetLogChunk = 64 << 10

// maxPacketRecord bounds one encoded packet: a flags byte and four
// varints (binary.MaxVarintLen64 each).
const maxPacketRecord = 1 + 4*binary.MaxVarintLen64

// flag bits of a record's first byte.
const (
	logRTX = 1 << iota
	logPadding
)

// Append adds p at the end of the log.
func (l *PacketLog) Append(p Packet) {
	if len(l.chunks) == 0 || cap(l.chunks[len(l.chunks)-1])-len(l.chunks[len(l.chunks)-1]) < maxPacketRecord {
		l.chunks = append(l.chunks, make([]byte, 0, packetLogChunk))
	}
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
	b := l.chunks[len(l.chunks)-1]
	b = append(b, flags)
	b = binary.AppendVarint(b, int64(int16(p.Seq-l.prev.Seq)))
	b = binary.AppendVarint(b, int64(int32(p.Timestamp-l.prev.Timestamp)))
	b = binary.AppendVarint(b, int64(p.At.Sub(l.prev.At)))
	b = binary.AppendVarint(b, int64(p.Size))
	l.chunks[len(l.chunks)-1] = b
	l.prev = p
	l.n++
}

// Len is the number of packets in the log.
func (l *PacketLog) Len() int { return l.n }

// Bytes is the memory the log holds (its chunks' capacity).
func (l *PacketLog) Bytes() int {
	n := 0
	for _, c := range l.chunks {
		n += cap(c)
	}
	return n
}

// Packets decodes the log: a new slice of Len packets in append order
// (nil when empty).
func (l *PacketLog) Packets() []Packet {
	if l.n == 0 {
		return nil // as a nil slice copied
	}
	out := make([]Packet, 0, l.n)
	var prev Packet
	var elapsed time.Duration
	for _, b := range l.chunks {
		for len(b) > 0 {
			flags := b[0]
			b = b[1:]
			var v [4]int64
			for i := range v {
				x, k := binary.Varint(b)
				if k <= 0 {
					return out // cannot happen: the log wrote it
				}
				v[i], b = x, b[k:]
			}
			elapsed += time.Duration(v[2])
			p := Packet{
				Seq:       prev.Seq + uint16(v[0]),
				Timestamp: prev.Timestamp + uint32(v[1]),
				At:        l.first.Add(elapsed),
				Size:      int(v[3]),
				RTX:       flags&logRTX != 0,
				Padding:   flags&logPadding != 0,
			}
			out = append(out, p)
			prev = p
		}
	}
	return out
}
