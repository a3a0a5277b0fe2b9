package flow

import (
	"testing"
	"time"
)

func TestCodecFollowsTarget(t *testing.T) {
	c := NewCodec(CodecParams{}, 7)
	now := time.Unix(0, 0)
	var bytes, keys int
	frames := 0
	for i := range 250 { // 10 s at 25 fps, 600 kbps
		size, key := c.Frame(now.Add(time.Duration(i)*c.Interval()), 600_000)
		if key {
			keys++
			if i != 0 {
				t.Errorf("unexpected key frame at %d", i)
			}
			continue
		}
		bytes += size
		frames++
	}
	mean := float64(bytes) / float64(frames)
	want := 600_000.0 / 8 / 25 // 3000 bytes
	if mean < want*0.97 || mean > want*1.03 {
		t.Errorf("mean frame %.0f bytes, want %.0f ±3%%", mean, want)
	}
	if keys != 1 {
		t.Errorf("%d key frames, want the first only", keys)
	}
}

func TestCodecKeyframes(t *testing.T) {
	c := NewCodec(CodecParams{}, 1)
	t0 := time.Unix(0, 0)
	for _, tc := range []struct {
		at     time.Duration
		target int
		key    bool
		why    string
	}{
		{0, 500_000, true, "the first frame"},
		{time.Second, 900_000, false, "a change of 80% within the 2 s gap"},
		{3 * time.Second, 900_000, true, "the same change once the gap passed"},
		{4 * time.Second, 1_200_000, false, "33% above the last key frame's rate"},
		{6 * time.Second, 10_000_000, true, "clamped to 1.5 Mbps: 67% above 900 kbps, 3 s after the last"},
		{6*time.Second + 40*time.Millisecond, 10_000_000, false, "no change since"},
	} {
		_, key := c.Frame(t0.Add(tc.at), tc.target)
		if key != tc.key {
			t.Errorf("%v at %v: key %v, want %v (%s)", tc.target, tc.at, key, tc.key, tc.why)
		}
	}
	c.RequestKeyframe()
	if size, key := c.Frame(t0.Add(7*time.Second), 1_500_000); !key || size < 4*1_500_000/8/25/2 {
		t.Errorf("requested key frame: key %v size %d", key, size)
	}
}

func TestCodecClamps(t *testing.T) {
	c := NewCodec(CodecParams{MinRate: 100_000, MaxRate: 1_000_000, FPS: 10}, 1)
	for _, tc := range []struct{ in, want int }{{5_000, 100_000}, {500_000, 500_000}, {9_000_000, 1_000_000}} {
		if got := c.Rate(tc.in); got != tc.want {
			t.Errorf("Rate(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if c.Interval() != 100*time.Millisecond {
		t.Errorf("interval %v", c.Interval())
	}
}
