package flow

import (
	"sync"
	"time"

	"github.com/rtclab/rtclab/seqnum"
)

// seqLog follows every RTP sequence number of one flow: when it was first
// sent, how often, and whether it arrived. Sequence numbers are extended
// beyond 16 bits relative to the highest sent (RFC 3550 appendix A.1,
// package seqnum); entry i is the i-th number after the first sent.
type seqLog struct {
	mu      sync.Mutex
	started bool
	ext     seqnum.Unwrapper // judged against the highest number sent
	base    int64            // extended number of the first sent
	first   []time.Time
	sends   []uint16
	arrived []bool
	onFirst []bool // arrived before any retransmission was sent
}

func (l *seqLog) sent(seq uint16, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started {
		l.started, l.base = true, l.ext.Unwrap(seq)
	}
	e := l.ext.Unwrap(seq) - l.base
	switch {
	case e < 0:
		return
	case e < int64(len(l.first)):
		l.sends[e]++
		return
	}
	for int64(len(l.first)) <= e { // a gap would be a bug upstream; keep indexes aligned
		l.first = append(l.first, now)
		l.sends = append(l.sends, 0)
		l.arrived = append(l.arrived, false)
		l.onFirst = append(l.onFirst, false)
	}
	l.sends[e] = 1
}

// received marks seq as arrived. It returns the first send time, whether
// this is the first transmission (no repair was sent yet), and false for
// unknown sequence numbers and duplicates.
func (l *seqLog) received(seq uint16) (time.Time, bool, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started {
		return time.Time{}, false, false
	}
	e := l.ext.Peek(seq) - l.base
	if e < 0 || e >= int64(len(l.first)) || l.arrived[e] {
		return time.Time{}, false, false
	}
	l.arrived[e] = true
	l.onFirst[e] = l.sends[e] == 1
	return l.first[e], l.onFirst[e], true
}

func (l *seqLog) loss(cutoff time.Time) Loss {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out Loss
	for i, t := range l.first {
		if !t.Before(cutoff) {
			break
		}
		out.Sent++
		if !l.onFirst[i] {
			out.Lost++
		}
		if !l.arrived[i] {
			out.Unrepaired++
		}
	}
	return out
}
