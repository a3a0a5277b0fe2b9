package reports

import (
	"math"
	"testing"
)

// A negotiated stream that never started (nothing expected, nothing
// received: the Streams table's "—") has no loss to average into its
// codec's. Seen in a p2p call whose answer failed: the Codecs table read
// 0.00 % loss for two streams that carried nothing.
func TestCodecResultsLoss(t *testing.T) {
	v := &VideoStream{}
	for _, tc := range []struct {
		name    string
		streams []Stream
		want    float64 // NaN: no figure
	}{
		{"two streams", []Stream{
			{Kind: "video", Codec: "video/VP9", Video: v, PacketsExpected: 100, PacketsReceived: 90, LossFraction: 0.1},
			{Kind: "video", Codec: "video/VP9", Video: v, PacketsExpected: 100, PacketsReceived: 100},
		}, 0.05},
		{"one never started", []Stream{
			{Kind: "video", Codec: "video/VP9", Video: v, PacketsExpected: 100, PacketsReceived: 90, LossFraction: 0.1},
			{Kind: "video", Codec: "video/VP9", Video: v},
		}, 0.1},
		{"none started", []Stream{{Kind: "video", Codec: "video/VP9", Video: v}}, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CodecResults(&Report{Streams: tc.streams})
			if len(got) != 1 {
				t.Fatalf("%d codecs, want 1", len(got))
			}
			if l := got[0].LossFraction; math.IsNaN(tc.want) != math.IsNaN(l) || (!math.IsNaN(l) && math.Abs(l-tc.want) > 1e-12) {
				t.Errorf("loss %v, want %v", l, tc.want)
			}
		})
	}
	if got := codecLoss(math.NaN()); got != none {
		t.Errorf("no loss figure printed as %q, want %q", got, none)
	}
}
