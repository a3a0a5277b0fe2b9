package runner

import (
	"strings"
	"testing"

	"github.com/rtclab/rtclab/scenarios"
)

func TestParseMediaErrors(t *testing.T) {
	const base = `name: t
duration: 10s
participants:
  - name: alice
    publish: [audio, video]
`
	tests := []struct {
		name, extra string
		want        string
	}{
		{"unknown video codec", "    video: h265\n", `t.yaml:6: participants[0].video: unknown video codec "h265" (allowed: vp8, vp9, h264, av1)`},
		{"simulcast without vp8", "    video: av1\n    simulcast: true\n", `participants[0].simulcast: simulcast clips exist for vp8 only, not av1`},
		{"unknown codec", "    codecs: [opus, vp7]\n", `participants[0].codecs[1]: unknown codec "vp7" (allowed: opus, vp8, vp9, h264, av1)`},
		{"publishes what it refuses", "    video: vp9\n    codecs: [vp8]\n", `participants[0].codecs: publishes vp9 video but its codecs (vp8) leave vp9 out`},
		{"duplicate codec", "    codecs: [vp8, VP8]\n", `participants[0].codecs: lists the same codec twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scenarios.Parse("t.yaml", []byte(base+tt.extra))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant it to contain %s", err, tt.want)
			}
		})
	}
	if _, err := scenarios.Parse("t.yaml", []byte(base+"    video: H264\n    codecs: [opus, h264, vp8]\n")); err != nil {
		t.Fatalf("valid media fields: %v", err)
	}
	at := base + "expect:\n  - metric: fps\n    at: 5s\n    min: 1\n"
	if _, err := scenarios.Parse("t.yaml", []byte(at)); err == nil || !strings.Contains(err.Error(), "at applies to the layer metric only") {
		t.Fatalf("at on fps: %v", err)
	}
}

// Simulcast through the SFU: every layer switch happens on a keyframe the
// SFU asked for, so bob's picture never breaks at a switch, and the
// rewritten sequence numbers leave no gap that looks like loss.
func TestSimulcastSwitchesCleanly(t *testing.T) {
	rep, err := runVirtual(t, mustLoad(t, "simulcast-constrained"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	bob := stream(t, rep, "alice", "bob", "video")
	carol := stream(t, rep, "alice", "carol", "video")
	if bob.Video == nil || carol.Video == nil {
		t.Fatal("no video measurements")
	}
	// carol, on a clean link, ends on f: she starts on q and moves up, or
	// starts straight on f when the SFU chose f before her track was
	// negotiated (it holds offers sfu-renegotiate-delay).
	if sw := carol.Video.LayerSwitches; len(sw) == 0 || len(sw) > 2 || sw[0].From != "" || sw[len(sw)-1].To != "f" {
		t.Errorf("carol switched %+v, want q then f, or f from the start", sw)
	}
	if len(bob.Video.LayerSwitches) < 5 {
		t.Errorf("bob switched %+v: want q, f, then down and back up", bob.Video.LayerSwitches)
	}
	for _, sw := range bob.Video.LayerSwitches {
		if sw.WaitMS > 600 {
			t.Errorf("switch %+v waited %.0f ms for a keyframe; a PLI round trip is far less", sw, sw.WaitMS)
		}
	}
	if bob.LossFraction > 0.01 {
		t.Errorf("bob's loss after repair %.4f: layer switches must not leave sequence gaps", bob.LossFraction)
	}
	if carol.Video.FreezeCount != 0 || carol.LossFraction != 0 {
		t.Errorf("carol, on a clean link: %d freezes, loss %.4f", carol.Video.FreezeCount, carol.LossFraction)
	}
}

// The codec matrix names a reason for every refused track and gives every
// negotiated one a playing picture.
func TestCodecMatrixReasons(t *testing.T) {
	rep, err := runVirtual(t, mustLoad(t, "codec-matrix"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, n := range rep.Negotiations {
		if !n.OK {
			refused++
			if !strings.Contains(n.Reason, "no common codec") || !strings.Contains(n.Reason, n.Subscriber+" accepts") {
				t.Errorf("refusal without a clear reason: %+v", n)
			}
		}
	}
	if refused != 4 {
		t.Errorf("%d refusals, want 4 (H.264 to erin; VP8, VP9, H.264 to gina)", refused)
	}
	codecs := map[string]bool{}
	for _, s := range rep.Streams {
		if s.Kind == "video" {
			codecs[s.Codec] = true
			if s.Video == nil || s.Video.FramesShown < 200 {
				t.Errorf("%s->%s %s: %+v", s.From, s.To, s.Codec, s.Video)
			}
		}
	}
	if len(codecs) != 4 {
		t.Errorf("codecs received %v, want VP8, VP9, H264 and AV1", codecs)
	}
}
