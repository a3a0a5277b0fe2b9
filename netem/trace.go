package netem

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Trace is a link capacity trace in the mahimahi format: each line is a
// time in milliseconds at which one 1500-byte packet may leave the
// bottleneck; a time repeated n times allows n packets in that millisecond.
// The trace repeats from the start after its last line, as mm-link does.
type Trace struct {
	// Name says where the trace came from (a file name).
	Name string
	// opps are the delivery opportunities in ms, non-decreasing.
	opps []int64
	// period is the length of one pass, in ms (the last opportunity's time,
	// or 1 for a one-line trace at time 0... as mm-link).
	period int64
}

// ErrTrace is wrapped by every trace parse error.
var ErrTrace = errors.New("bad trace")

// ParseTrace reads a mahimahi trace. name is used in errors.
func ParseTrace(name string, r io.Reader) (*Trace, error) {
	t := &Trace{Name: name}
	sc := bufio.NewScanner(r)
	line := 0
	var last int64
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%w: %s:%d: %q is not a time in whole milliseconds", ErrTrace, name, line, s)
		}
		if v < last {
			return nil, fmt.Errorf("%w: %s:%d: %d ms comes after %d ms; times must not decrease", ErrTrace, name, line, v, last)
		}
		last = v
		t.opps = append(t.opps, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTrace, name, err)
	}
	if len(t.opps) == 0 {
		return nil, fmt.Errorf("%w: %s: no delivery opportunities", ErrTrace, name)
	}
	t.period = max(last, 1)
	return t, nil
}

// Opportunities is the number of delivery opportunities in one pass.
func (t *Trace) Opportunities() int { return len(t.opps) }

// Period is the length of one pass.
func (t *Trace) Period() time.Duration { return time.Duration(t.period) * time.Millisecond }

// MeanRate is the trace's average capacity in bits per second.
func (t *Trace) MeanRate() int64 {
	return int64(float64(len(t.opps)) * mtu * 8 / t.Period().Seconds())
}

// at returns the offset of opportunity k (0, 1, 2, ... over all passes)
// from the trace's start.
func (t *Trace) at(k int64) time.Duration {
	n := int64(len(t.opps))
	return time.Duration(k/n*t.period+t.opps[k%n]) * time.Millisecond
}

// first returns the index of the first opportunity at or after offset d.
func (t *Trace) first(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	ms := int64((d + time.Millisecond - 1) / time.Millisecond) // ceil
	n := int64(len(t.opps))
	pass := ms / t.period
	rem := ms - pass*t.period
	// binary search within the pass
	lo, hi := int64(0), n
	for lo < hi {
		mid := (lo + hi) / 2
		if t.opps[mid] < rem {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	k := pass*n + lo
	for k > 0 && t.at(k-1) >= time.Duration(ms)*time.Millisecond {
		k-- // the previous pass may end at this very millisecond
	}
	return k
}

// CapacityBytes is how many bytes of IP packets the trace lets through
// from offset from (inclusive) to offset to (exclusive) after its start:
// one 1500-byte packet per delivery opportunity.
func (t *Trace) CapacityBytes(from, to time.Duration) int64 {
	return (t.first(to) - t.first(from)) * mtu
}
