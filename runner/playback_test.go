package runner

import (
	"testing"

	"github.com/rtclab/rtclab/scenarios"
)

// A picture that fails to start is frozen from the arrival of its first
// packets to its first frame, as a picture that never starts is frozen
// for the whole call. bob's downlink carries 300 kbit/s of alice's
// 530 with a 150 ms queue, bursty loss and reordering until 8 s: every
// keyframe is cut in the queue and bob sees his first frame after 8 s
// while packets arrive from 0.4 s. (At 400 kbit/s the first keyframe
// got through at 0.75 s once calls connected a round trip sooner,
// without the DTLS cookie exchange: sent while the encoder still
// started low, it fit the queue; at 300 kbit/s seeds 1-5 all wait.) The old build counted no freeze (the
// wait before the first frame was no gap: 0 freezes, 0 ms, TTFF 8.1 s;
// audit of a 60 s call: 7 of 277 frames shown, the first at 60.6 s, 0
// freezes). The network's delay before the first packet is no freeze:
// the same call over a clean link with 100 ms of delay has none. (With
// 200 ms or more, bob's first packets are delta frames: alice's first
// keyframe reached him before his DTLS was done, and the one his PLI
// brings comes one round trip later, 233 ms at 200 ms: that wait is a
// freeze.)
func TestPictureThatFailsToStartIsFrozen(t *testing.T) {
	for _, tc := range []struct {
		name, downlink string
		wantFreeze     bool
	}{
		{"keyframes cut until 8 s", `
      delay: 40ms
      jitter: 20ms
      reorder: true
      rate: 300kbps
      queue: 150ms
      loss: 2%
      burst: 3
      schedule:
        - {at: 8s, rate: unlimited, loss: 0%}`, true},
		{"100 ms of delay", `
      delay: 100ms`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := scenarios.Parse("latestart.yaml", []byte(`name: latestart
topology: p2p
duration: 12s
seed: 2
participants:
  - {name: alice, nat: open, publish: [audio, video]}
  - name: bob
    nat: open
    downlink:`+tc.downlink+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := runVirtual(t, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			v := stream(t, rep, "alice", "bob", "video").Video
			if v == nil || v.TimeToFirstFrameMS == nil || v.FramesShown == 0 {
				t.Fatalf("alice->bob video: no picture: %+v", v)
			}
			ttff := *v.TimeToFirstFrameMS
			if !tc.wantFreeze {
				if ttff < 100 || v.FreezeCount != 0 {
					t.Fatalf("TTFF %.0f ms, %d freezes (%+v): want the delay in TTFF and no freeze", ttff, v.FreezeCount, v.Freezes)
				}
				return
			}
			if ttff < 7000 {
				t.Fatalf("TTFF %.0f ms: the scenario no longer delays the first frame", ttff)
			}
			if len(v.Freezes) == 0 {
				t.Fatalf("first frame after %.0f ms while packets arrived, but no freeze", ttff)
			}
			// The first freeze starts with the first packets (well before the
			// first frame) and ends at the first frame (TTFF counts from the
			// later join, a few ms after the run's start).
			f := v.Freezes[0]
			end := f.StartS*1000 + f.DurationMS
			if f.StartS > 1 || end < ttff-1 || end > ttff+50 { // start_s is rounded to 1 ms
				t.Fatalf("first freeze %+v ends at %.0f ms, want from the first packets (< 1 s) to the first frame (TTFF %.0f ms)", f, end, ttff)
			}
		})
	}
}
