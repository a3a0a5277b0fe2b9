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
	return l.View().AppendTo(make([]Packet, 0, l.n))
}

// PacketView is a PacketLog as it was when View was called, read without
// the owner's lock (spool.View): a run takes the view of every log at the
// end of the call, then decodes one at a time into buffers it reuses, so
// the heap at report time holds one stream's packets, not the whole
// call's.
type PacketView struct {
	log   spool.View
	n     int
	first time.Time
}

// View returns the log as it is now (the owner locks around it).
func (l *PacketLog) View() PacketView { return PacketView{log: l.log.View(), n: l.n, first: l.first} }

// Len is the number of packets in the view.
func (v PacketView) Len() int { return v.n }

// AppendTo decodes the view's packets, in append order, onto dst (pass
// dst[:0] to reuse its array). An error means a spilled part could not be
// read back.
func (v PacketView) AppendTo(dst []Packet) ([]Packet, error) {
	start := len(dst)
	var prev Packet
	var elapsed time.Duration
	err := v.log.Records(func(r spool.Record) {
		x := r.V
		elapsed += time.Duration(x[2])
		p := Packet{
			Seq:       prev.Seq + uint16(x[0]),
			Timestamp: prev.Timestamp + uint32(x[1]),
			At:        v.first.Add(elapsed),
			Size:      int(x[3]),
			RTX:       r.Flags&logRTX != 0,
			Padding:   r.Flags&logPadding != 0,
		}
		dst = append(dst, p)
		prev = p
	})
	if err == nil && len(dst)-start != v.n {
		err = fmt.Errorf("packet log: %d of %d packets read back", len(dst)-start, v.n)
	}
	return dst, err
}
