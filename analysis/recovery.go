package analysis

import (
	"slices"
	"time"
)

// InterruptionGap is the least silence in a stream's arrivals that counts
// as an interruption: ten audio frames (20 ms) or nine video frames at
// 30 frames/s, well above the jitter of a working call.
const InterruptionGap = 200 * time.Millisecond

// Interruption is what one fault did to one stream.
type Interruption struct {
	// Recovered is false when media never came back after the fault cut
	// it (the stream was silent from the interruption to End).
	Recovered bool
	// Recovery is the time from the fault to the first packet after the
	// interruption, or to the first packet after the fault when the
	// stream was not interrupted. Zero when not recovered.
	Recovery time.Duration
	// Gap is the silence: from the last packet before the interruption to
	// the first after it (to End when not recovered); zero when the
	// stream was not interrupted.
	Gap time.Duration
}

// FaultWindow says which silence belongs to a fault: one that begins
// before Fault + Window. A later silence has another cause.
type FaultWindow struct {
	// Fault is when the fault happened.
	Fault time.Time
	// Window is how long after Fault an interruption may begin (the time
	// the fault lasts, and the time its effect takes to reach the
	// stream).
	Window time.Duration
	// End is the end of the call: a silence to End that began in the
	// window is an interruption never recovered.
	End time.Time
}

// Recover measures a stream's interruption by a fault from the arrival
// times of its media packets (originals and repairs, padding left out), in
// any order.
func Recover(arrivals []Packet, w FaultWindow) Interruption {
	prev := time.Time{} // last arrival before the current one
	var first time.Time // first arrival after the fault
	latest := w.Fault.Add(w.Window)
	for _, at := range sortedArrivals(arrivals) {
		if !at.After(w.Fault) {
			prev = at
			continue
		}
		if first.IsZero() {
			first = at
		}
		from := prev
		if from.Before(w.Fault) {
			// A silence before the fault is not the fault's: count from
			// the fault on.
			from = w.Fault
		}
		if !from.Before(latest) {
			break // no silence began in the window
		}
		if at.Sub(from) >= InterruptionGap {
			return Interruption{Recovered: true, Recovery: at.Sub(w.Fault), Gap: at.Sub(from)}
		}
		prev = at
	}
	from := prev
	if from.Before(w.Fault) {
		from = w.Fault
	}
	if from.Before(latest) && w.End.Sub(from) >= InterruptionGap {
		return Interruption{Gap: w.End.Sub(from)}
	}
	if first.IsZero() {
		return Interruption{Recovered: true}
	}
	return Interruption{Recovered: true, Recovery: first.Sub(w.Fault)}
}

func sortedArrivals(ps []Packet) []time.Time {
	out := make([]time.Time, 0, len(ps))
	for _, p := range ps {
		if !p.Padding {
			out = append(out, p.At)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}
