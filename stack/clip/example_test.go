package clip_test

import (
	"fmt"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/stack/clip"
)

func ExampleOpen() {
	c, err := clip.Open(rtclab.Clips, "testdata/clips/video-vp8.ivf")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.MimeType(), c.Kind(), c.ClockRate(), c.Frames(), c.Duration())

	// A Player loops forever; a sender writes each sample to a
	// TrackLocalStaticSample and waits Sample.Duration before the next.
	p := c.Player()
	for range 2 {
		f := p.NextFrame()
		fmt.Println(f.Index, f.Keyframe, f.Sample.Duration)
	}
	// Output:
	// video/VP8 video 90000 300 10s
	// 0 true 33.333333ms
	// 1 false 33.333333ms
}
