package analysis

import (
	"math"
	"time"
)

// Freeze detection parameters, as libwebrtc's video quality observer
// defines a freeze (video/video_quality_observer2.cc): an inter-frame gap
// of at least max(3 × the average gap, the average gap + 150 ms), the
// average taken over the previous 30 gaps, once 5 have been seen.
const (
	freezeFactor     = 3
	freezeMinExtra   = 150 * time.Millisecond
	freezeWindow     = 30
	freezeMinSamples = 5
)

// Freeze is one frozen interval of a video stream.
type Freeze struct {
	// Start is when the last frame before the freeze was shown (for a
	// picture that failed to start, when its first frame was due).
	Start time.Duration
	// Duration is the gap until the next frame.
	Duration time.Duration
}

// VideoPlayback summarises what a viewer saw of one video stream, from the
// times its frames were shown.
type VideoPlayback struct {
	// Frames is the number of frames shown.
	Frames int
	// FirstFrame is when the first frame was shown (time to first frame,
	// measured from whatever zero the caller's times use); -1 if none.
	FirstFrame time.Duration
	// MeanFPS is Frames over the time the stream should have played (from
	// its start to its end, AnalyzePlayback's span), so a picture that
	// stopped early or never came has a low rate.
	MeanFPS float64
	// HarmonicFPS weighs long gaps by their length, as libwebrtc's
	// harmonic_framerate does: the sum of gaps over the sum of squared
	// gaps. A stream with freezes has a harmonic rate well below its mean.
	HarmonicFPS float64
	// Freezes lists every freeze.
	Freezes []Freeze
	// FreezeTime is the total duration of the freezes.
	FreezeTime time.Duration
	// MeanTimeBetweenFreezes is the mean shown time between freezes (the
	// whole span when there were none); 0 without frames.
	MeanTimeBetweenFreezes time.Duration
}

// PlaySpan is when a stream should have played: from Start (the first
// frame shown, or when it was due if none came) to End (the end of the
// call, or when the publisher or the viewer left).
type PlaySpan struct {
	Start, End time.Duration
	// FrameInterval is the sender's frame interval, when known: until
	// libwebrtc's 5 gaps have been seen, gaps are judged against it
	// instead of not at all, so a stream that shows a handful of frames
	// in a minute is frozen, not smooth.
	FrameInterval time.Duration
	// FirstDue, when positive, is when the first picture was due: when
	// the stream's first media packet reached the viewer. The wait from
	// then to the first frame shown is judged as a gap (against
	// FrameInterval, as the early gaps are): a picture that fails to
	// start while its packets arrive is frozen from FirstDue, as one
	// that never starts is frozen for the whole span. The network's
	// delay before the first packet is not counted (that is the time to
	// first frame).
	FirstDue time.Duration
}

// AnalyzePlayback measures frames shown at the given times (in order)
// over the whole span the stream should have played. The time from the
// last frame to span.End is one more gap: a picture that stands still
// until the end is a freeze (when it is long enough to be one), and a
// stream that showed nothing has no frames, no rate and one freeze of the
// whole span; with span.FirstDue, so is a first frame that came a
// freeze's gap after its packets began to arrive.
func AnalyzePlayback(shown []time.Duration, span PlaySpan) VideoPlayback {
	out := VideoPlayback{Frames: len(shown), FirstFrame: -1, Freezes: []Freeze{}}
	if len(shown) > 0 {
		out.FirstFrame = shown[0]
		span.Start = min(span.Start, shown[0])
		span.End = max(span.End, shown[len(shown)-1])
	}
	length := span.End - span.Start
	if length <= 0 {
		return out
	}
	if len(shown) == 0 {
		out.Freezes = append(out.Freezes, Freeze{Start: span.Start, Duration: length})
		out.FreezeTime = length
		return out
	}
	var gaps []time.Duration // the moving window
	var sum time.Duration
	var sumSq float64
	if lead := shown[0] - span.FirstDue; span.FirstDue > 0 && span.FrameInterval > 0 && lead > 0 {
		if avg := span.FrameInterval; lead >= max(freezeFactor*avg, avg+freezeMinExtra) {
			out.Freezes = append(out.Freezes, Freeze{Start: span.FirstDue, Duration: lead})
			out.FreezeTime += lead
			sum += lead
			sumSq += lead.Seconds() * lead.Seconds()
		}
	}
	for i := 1; i <= len(shown); i++ {
		var gap time.Duration
		if i < len(shown) {
			gap = shown[i] - shown[i-1]
		} else {
			gap = span.End - shown[i-1] // until the end of the call
		}
		if i == len(shown) && gap <= 0 {
			break
		}
		judge := len(gaps) >= freezeMinSamples || span.FrameInterval > 0
		if judge {
			avg := span.FrameInterval
			if len(gaps) >= freezeMinSamples {
				avg = 0
				for _, g := range gaps {
					avg += g
				}
				avg /= time.Duration(len(gaps))
			}
			if gap >= max(freezeFactor*avg, avg+freezeMinExtra) {
				out.Freezes = append(out.Freezes, Freeze{Start: shown[i-1], Duration: gap})
				out.FreezeTime += gap
			}
		}
		gaps = append(gaps, gap)
		if len(gaps) > freezeWindow {
			gaps = gaps[1:]
		}
		sum += gap
		sumSq += gap.Seconds() * gap.Seconds()
	}
	out.MeanFPS = float64(len(shown)) / length.Seconds()
	if sumSq > 0 {
		out.HarmonicFPS = sum.Seconds() / sumSq
	}
	out.MeanTimeBetweenFreezes = (length - out.FreezeTime) / time.Duration(len(out.Freezes)+1)
	return out
}

// FramesPerSecond counts frames shown in each whole second from 0 to end,
// for a frames-per-second series.
func FramesPerSecond(shown []time.Duration, end time.Duration) []float64 {
	n := int(math.Ceil(end.Seconds()))
	out := make([]float64, n)
	for _, t := range shown {
		if i := int(t / time.Second); i >= 0 && i < n {
			out[i]++
		}
	}
	return out
}

// FreezeRamps draws freezes as a series sampled every Resolution from 0
// to end: 0 outside them, and inside each a ramp from 0 at its start to
// its duration (in ms) at its end, with points at the exact start and end,
// so the plot shows each freeze of the table as one interval whose peak is
// its length.
func FreezeRamps(freezes []Freeze, end time.Duration) []Point {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	var out []Point
	k := 0 // the next freeze
	for t := time.Duration(0); t <= end; t += Resolution {
		for k < len(freezes) && freezes[k].Start+freezes[k].Duration <= t {
			f := freezes[k]
			if len(out) == 0 || out[len(out)-1].T < f.Start.Seconds() {
				out = append(out, Point{T: f.Start.Seconds(), V: 0})
			}
			e := (f.Start + f.Duration).Seconds()
			out = append(out, Point{T: e, V: ms(f.Duration)}, Point{T: e, V: 0})
			k++
		}
		v := 0.0
		if k < len(freezes) && freezes[k].Start <= t {
			if len(out) == 0 || out[len(out)-1].T < freezes[k].Start.Seconds() {
				out = append(out, Point{T: freezes[k].Start.Seconds(), V: 0})
			}
			v = ms(t - freezes[k].Start)
		}
		if len(out) == 0 || out[len(out)-1].T < t.Seconds() {
			out = append(out, Point{T: t.Seconds(), V: v})
		}
	}
	for ; k < len(freezes); k++ { // a freeze that ends at the end
		f := freezes[k]
		e := (f.Start + f.Duration).Seconds()
		out = append(out, Point{T: e, V: ms(f.Duration)}, Point{T: e, V: 0})
	}
	return out
}
