package analysis

import (
	"testing"
	"time"
)

// steady returns n frame times every gap from start.
func steady(start, gap time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = start + time.Duration(i)*gap
	}
	return out
}

// playedTo is the span of frames that play on one frame past the last.
func playedTo(shown []time.Duration, gap time.Duration) PlaySpan {
	return PlaySpan{Start: shown[0], End: shown[len(shown)-1] + gap}
}

func TestAnalyzePlaybackFreezes(t *testing.T) {
	const f30 = time.Second / 30
	tests := []struct {
		name       string
		shown      []time.Duration
		end        time.Duration // 0: one frame past the last
		wantCount  int
		wantFreeze time.Duration
	}{
		{"steady 30 fps", steady(0, f30, 300), 0, 0, 0},
		{"one 500 ms gap", append(steady(0, f30, 60), steady(60*f30+500*time.Millisecond, f30, 60)...), 0, 1, f30 + 500*time.Millisecond},
		// 30 fps: threshold max(100 ms, 183 ms) = 183 ms.
		{"gap just below avg+150ms", append(steady(0, f30, 60), steady(59*f30+180*time.Millisecond, f30, 60)...), 0, 0, 0},
		{"gap just above avg+150ms", append(steady(0, f30, 60), steady(59*f30+185*time.Millisecond, f30, 60)...), 0, 1, 185 * time.Millisecond},
		// 5 fps: threshold max(600 ms, 350 ms) = 600 ms: a 500 ms gap is no freeze.
		// The average is over the last 30 gaps only: after 40 gaps at
		// 10 fps and 30 at 30 fps the threshold is 183 ms again, so 200 ms
		// is a freeze (over all 70 gaps it would be 221 ms).
		{"average forgets a slow start", append(append(steady(0, 100*time.Millisecond, 41), steady(4*time.Second+f30, f30, 30)...), steady(4*time.Second+30*f30+200*time.Millisecond, f30, 10)...), 0, 1, 200 * time.Millisecond},
		{"slow stream, 3x rule", append(steady(0, 200*time.Millisecond, 20), steady(19*200*time.Millisecond+500*time.Millisecond, 200*time.Millisecond, 10)...), 0, 0, 0},
		{"slow stream, long gap", append(steady(0, 200*time.Millisecond, 20), steady(19*200*time.Millisecond+700*time.Millisecond, 200*time.Millisecond, 10)...), 0, 1, 700 * time.Millisecond},
		{"too early to judge", append(steady(0, f30, 3), steady(2*f30+time.Second, f30, 10)...), 0, 0, 0},
		{"two freezes", append(append(steady(0, f30, 30), steady(29*f30+time.Second, f30, 30)...), steady(29*f30+time.Second+29*f30+2*time.Second, f30, 30)...), 0, 2, 3 * time.Second},
		// The picture stops at 20 s of a 40 s call: frozen until the end.
		{"frozen until the end", steady(0, f30, 600), 40 * time.Second, 1, 40*time.Second - 599*f30},
		// Stopping 100 ms before the end is no freeze.
		{"ends a little early", steady(0, f30, 600), 599*f30 + 100*time.Millisecond, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span := playedTo(tt.shown, f30)
			if tt.end > 0 {
				span.End = tt.end
			}
			got := AnalyzePlayback(tt.shown, span)
			if len(got.Freezes) != tt.wantCount || got.FreezeTime != tt.wantFreeze {
				t.Fatalf("freezes %d (%v), want %d (%v): %+v", len(got.Freezes), got.FreezeTime, tt.wantCount, tt.wantFreeze, got.Freezes)
			}
		})
	}
}

func TestAnalyzePlaybackRates(t *testing.T) {
	p := AnalyzePlayback(steady(time.Second, 40*time.Millisecond, 251), PlaySpan{Start: time.Second, End: time.Second + 251*40*time.Millisecond})
	if p.FirstFrame != time.Second || p.Frames != 251 {
		t.Fatalf("first %v frames %d", p.FirstFrame, p.Frames)
	}
	if p.MeanFPS < 24.99 || p.MeanFPS > 25.01 || p.HarmonicFPS < 24.99 || p.HarmonicFPS > 25.01 {
		t.Fatalf("mean %v harmonic %v, want 25", p.MeanFPS, p.HarmonicFPS)
	}
	// A 1 s freeze in 10 s of 25 fps: the harmonic rate drops far more
	// than the mean.
	frozen := append(steady(0, 40*time.Millisecond, 125), steady(124*40*time.Millisecond+time.Second, 40*time.Millisecond, 100)...)
	q := AnalyzePlayback(frozen, playedTo(frozen, 40*time.Millisecond))
	if q.HarmonicFPS >= q.MeanFPS*0.5 {
		t.Fatalf("harmonic %v not well below mean %v", q.HarmonicFPS, q.MeanFPS)
	}
	// Nothing shown in a 10 s span: no rate, one freeze of the whole span.
	if empty := AnalyzePlayback(nil, PlaySpan{Start: 0, End: 10 * time.Second}); empty.FirstFrame != -1 || empty.Frames != 0 || empty.MeanFPS != 0 || len(empty.Freezes) != 1 || empty.FreezeTime != 10*time.Second {
		t.Fatalf("empty: %+v", empty)
	}
	// fps over the span the stream should have played: 5 s of 30 fps in a
	// 40 s call is 3.75 fps, not 30.
	short := steady(0, time.Second/30, 150)
	if got := AnalyzePlayback(short, PlaySpan{End: 40 * time.Second}).MeanFPS; got < 3.74 || got > 3.76 {
		t.Fatalf("fps over the call %v, want 3.75", got)
	}
}

func TestFramesPerSecond(t *testing.T) {
	got := FramesPerSecond(steady(0, 100*time.Millisecond, 25), 3*time.Second)
	if len(got) != 3 || got[0] != 10 || got[1] != 10 || got[2] != 5 {
		t.Fatalf("got %v", got)
	}
}

func TestFreezeRamps(t *testing.T) {
	freezes := []Freeze{{Start: time.Second, Duration: 450 * time.Millisecond}, {Start: 20 * time.Second, Duration: 20 * time.Second}}
	got := FreezeRamps(freezes, 40*time.Second)
	// Peaks: a point followed by a lower one, at each freeze's length.
	var peaks []float64
	for i, p := range got {
		if i > 0 && p.T < got[i-1].T {
			t.Fatalf("time goes back at %d: %v", i, got[i-1:i+1])
		}
		if p.V > 0 && (i+1 == len(got) || got[i+1].V < p.V) {
			peaks = append(peaks, p.V)
		}
	}
	if len(peaks) != 2 || peaks[0] != 450 || peaks[1] != 20000 {
		t.Fatalf("peaks %v, want [450 20000]", peaks)
	}
	if len(got) < 400 {
		t.Fatalf("%d points, want one every 100 ms", len(got))
	}
	for _, p := range got {
		if p.T > 1.5 && p.T < 19.9 && p.V != 0 {
			t.Fatalf("nonzero outside the freezes: %v", p)
		}
	}
}

// Five frames shown in a minute is a frozen picture, though libwebrtc's
// rule judges nothing before 5 gaps: with the sender's frame interval
// known, the early gaps are judged against it. (Measured on the old
// build: fps 16.5 and 0 freezes for 5 of 114 frames shown in 60 s.)
func TestAnalyzePlaybackFewFrames(t *testing.T) {
	shown := []time.Duration{0, 12 * time.Second, 24 * time.Second, 36 * time.Second, 48 * time.Second}
	got := AnalyzePlayback(shown, PlaySpan{End: 60 * time.Second, FrameInterval: time.Second / 30})
	if len(got.Freezes) != 5 || got.FreezeTime != 60*time.Second {
		t.Fatalf("freezes %d (%v), want 5 (60s)", len(got.Freezes), got.FreezeTime)
	}
	if got.MeanFPS > 0.1 {
		t.Fatalf("fps %v, want 5/60", got.MeanFPS)
	}
	// Without the interval, libwebrtc's rule alone: nothing is judged.
	if n := len(AnalyzePlayback(shown, PlaySpan{End: 60 * time.Second}).Freezes); n != 0 {
		t.Fatalf("without the interval: %d freezes, want 0 (libwebrtc's rule)", n)
	}
	// A steady start at the nominal rate has no freeze.
	if n := len(AnalyzePlayback(steady(0, time.Second/30, 30), PlaySpan{End: time.Second, FrameInterval: time.Second / 30}).Freezes); n != 0 {
		t.Fatalf("steady: %d freezes", n)
	}
}

// The wait from the first packets (FirstDue) to the first frame is judged
// as a gap: a picture that starts 59 s late is frozen for 59 s, not
// smooth (audit: 7 frames shown from 60.6 s of a 60 s call, 0 freezes).
func TestAnalyzePlaybackLateStart(t *testing.T) {
	const f30 = time.Second / 30
	tests := []struct {
		name       string
		firstDue   time.Duration
		wantCount  int
		wantFreeze time.Duration
	}{
		{"not known", 0, 0, 0},
		{"first frame 100 ms after the first packet", 900 * time.Millisecond, 0, 0},
		{"182 ms: below max(3 x 33 ms, 33 ms + 150 ms)", 818 * time.Millisecond, 0, 0},
		{"184 ms", 816 * time.Millisecond, 1, 184 * time.Millisecond},
		{"999 ms", time.Millisecond, 1, 999 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shown := steady(time.Second, f30, 60)
			got := AnalyzePlayback(shown, PlaySpan{Start: 0, End: time.Second + 60*f30, FrameInterval: f30, FirstDue: tt.firstDue})
			if len(got.Freezes) != tt.wantCount || got.FreezeTime != tt.wantFreeze {
				t.Fatalf("freezes %d (%v), want %d (%v): %+v", len(got.Freezes), got.FreezeTime, tt.wantCount, tt.wantFreeze, got.Freezes)
			}
			if tt.wantCount == 1 && got.Freezes[0].Start != tt.firstDue {
				t.Fatalf("freeze starts at %v, want at the first packet %v", got.Freezes[0].Start, tt.firstDue)
			}
		})
	}
	late := steady(60*time.Second, f30, 7)
	got := AnalyzePlayback(late, PlaySpan{Start: time.Second, End: 60 * time.Second, FrameInterval: f30, FirstDue: 1100 * time.Millisecond})
	if len(got.Freezes) != 1 || got.FreezeTime != 60*time.Second-1100*time.Millisecond {
		t.Fatalf("late start: %d freezes (%v), want one of 58.9 s", len(got.Freezes), got.FreezeTime)
	}
}
