package runner

import (
	"math"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// Regression tests for issue #10 (measurement truth): each scenario is a
// case in which a number used to be wrong.

// twoParty is a two-party A/V call; bobDownlink adds to bob's downlink
// (after its 10 ms delay), aliceUplink is alice's uplink delay ("" for
// 10 ms).
func twoParty(t *testing.T, topology, duration, bobDownlink, aliceUplink, expect string) *scenarios.Scenario {
	t.Helper()
	if aliceUplink == "" {
		aliceUplink = "10ms"
	}
	y := `name: truth
topology: ` + topology + `
duration: ` + duration + `
seed: 1
participants:
  - name: alice
    nat: open
    publish: [audio, video]
    uplink: {delay: ` + aliceUplink + `}
    downlink: {delay: 10ms}
  - name: bob
    nat: open
    publish: [audio, video]
    uplink: {delay: 10ms}
    downlink: {delay: 10ms` + bobDownlink + `}
` + expect
	s, err := scenarios.Parse("truth.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A call whose downlink dies half way must fail: half of bob's audio is
// lost, and his picture is frozen from the outage to the end. The old
// build counted only gaps between received packets: 0 % loss, 0 freezes,
// 30 fps, PASS.
func TestTailOutageFails(t *testing.T) {
	s := twoParty(t, "sfu", "40s", ", schedule: [{at: 20s, down: true}]", "", `expect:
  - {metric: freeze_count, to: bob, kind: video, max: 0}
  - {metric: fps, to: bob, kind: video, min: 25}
  - {metric: loss_fraction, to: bob, max: 1%}
`)
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict == "pass" {
		t.Errorf("verdict pass for a call that died at 20 s of 40: %+v", rep.Checks)
	}
	audio := stream(t, rep, "alice", "bob", "audio")
	if audio.LossFraction < 0.45 || audio.LossFraction > 0.55 {
		t.Errorf("bob's audio loss %.3f, want near 0.5", audio.LossFraction)
	}
	if audio.Audio == nil || audio.Audio.ConcealmentEvents < 1 || audio.Audio.LongestGapMS < 19000 {
		t.Errorf("bob's audio: want a concealed gap of ~20 s, got %+v", audio.Audio)
	}
	v := stream(t, rep, "alice", "bob", "video").Video
	if v == nil || len(v.Freezes) == 0 {
		t.Fatalf("no freeze: %+v", v)
	}
	last := v.Freezes[len(v.Freezes)-1]
	if end := last.StartS + last.DurationMS/1000; last.StartS > 20.5 || end < 39.9 {
		t.Errorf("last freeze %.2f s + %.0f ms, want from ~20 s to the end (40 s)", last.StartS, last.DurationMS)
	}
	if v.FPS > 16 {
		t.Errorf("fps %.2f, want about half of 30 (the picture stopped half way)", v.FPS)
	}
	checkSeriesAgree(t, rep)
	// The unaffected direction still passes its own numbers.
	if back := stream(t, rep, "bob", "alice", "audio"); back.LossFraction != 0 {
		t.Errorf("bob->alice audio loss %v, want 0", back.LossFraction)
	}
}

// jitter_ms is RFC 3550's estimator, not pion's second difference (which
// read 1.6–2× high). For a delay with independent uniform ±a jitter per
// packet, the transit difference of two packets is the difference of two
// independent U(−a, a), whose mean absolute value is 2a/3; the estimator
// is an exponential average of it with weight 1/16, so over ~1500 audio
// packets it sits at 2a/3 = 13.3 ms for a = 20 ms, within about ±25 %
// (its standard deviation is σ|D|·sqrt(1/31) ≈ 1.7 ms).
func TestJitterIsRFC3550(t *testing.T) {
	s := twoParty(t, "p2p", "30s", ", jitter: 20ms, jitter_distribution: uniform, reorder: true", "", "")
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	audio := stream(t, rep, "alice", "bob", "audio")
	if audio.JitterMS < 10 || audio.JitterMS > 17 {
		t.Errorf("jitter %.2f ms, want 2a/3 = 13.3 ms ± 25 %% (pion's figure: %.2f)", audio.JitterMS, audio.PionJitterMS)
	}
	// Reordering is lateness, not loss: nothing was lost, so nothing was
	// concealed (the old build counted hundreds of concealed gaps).
	if a := audio.Audio; a == nil || a.ConcealmentEvents != 0 || a.LatePackets == 0 {
		t.Errorf("reordered audio: want late packets and no concealment, got %+v", a)
	}
}

// The E-model charges the stream's own mouth-to-ear delay: 300 ms on
// alice's uplink hurts alice->bob, not bob->alice. The old build charged
// half the receiver's RTT: alice->bob kept MOS 4.41.
func TestMOSChargesTheStreamsDelay(t *testing.T) {
	s := twoParty(t, "sfu", "20s", "", "300ms", "")
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ab, ba := stream(t, rep, "alice", "bob", "audio").Audio, stream(t, rep, "bob", "alice", "audio").Audio
	if ab == nil || ba == nil {
		t.Fatal("no audio measurements")
	}
	if ab.MouthToEarMS < 320 || ba.MouthToEarMS > 100 {
		t.Errorf("mouth-to-ear alice->bob %.1f ms (want > 320), bob->alice %.1f ms (want < 100)", ab.MouthToEarMS, ba.MouthToEarMS)
	}
	if ab.MOS >= ba.MOS {
		t.Errorf("MOS alice->bob %.2f not below bob->alice %.2f", ab.MOS, ba.MOS)
	}
}

// packets_sent counts what reached the wire: on a loss-free p2p path every
// packet sent is received. The old build counted packets written before
// DTLS-SRTP was up, which pion dropped.
func TestPacketsSentIsOnTheWire(t *testing.T) {
	rep, err := runVirtual(t, twoParty(t, "p2p", "10s", "", "", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range rep.Streams {
		if st.PacketsSent == 0 || st.PacketsSent != st.PacketsReceived || st.PacketsLost != 0 {
			t.Errorf("%s->%s %s: sent %d received %d lost %d, want sent = received", st.From, st.To, st.Kind, st.PacketsSent, st.PacketsReceived, st.PacketsLost)
		}
	}
}

// With simulcast, packets_sent counts every layer and packets_received
// never counts padding probes: received ≤ sent (the old build had 2584
// received against 1372 "sent").
func TestSimulcastCounts(t *testing.T) {
	rep, err := runVirtual(t, mustLoad(t, "simulcast-constrained"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range rep.Streams {
		if st.Kind != "video" {
			continue
		}
		if st.PacketsReceived > st.PacketsSent || st.PacketsReceived > st.PacketsExpected {
			t.Errorf("%s->%s: received %d, sent %d, expected %d", st.From, st.To, st.PacketsReceived, st.PacketsSent, st.PacketsExpected)
		}
		if w := st.Wire; w == nil || len(w.PublisherSSRCs) != 3 {
			t.Errorf("%s->%s: want 3 publisher SSRCs, got %+v", st.From, st.To, w)
		}
		checkLossAddsUp(t, st)
	}
	checkSeriesAgree(t, rep) // bob's picture froze 3 times at the cut
}

// checkLossAddsUp checks that a stream's counts agree with each other.
func checkLossAddsUp(t *testing.T, st reports.Stream) {
	t.Helper()
	if st.PacketsExpected != st.PacketsReceived+st.PacketsLost {
		t.Errorf("%s->%s %s: expected %d != received %d + lost %d", st.From, st.To, st.Kind, st.PacketsExpected, st.PacketsReceived, st.PacketsLost)
	}
	if st.PacketsExpected > 0 {
		if f := float64(st.PacketsLost) / float64(st.PacketsExpected); math.Abs(f-st.LossFraction) > 1e-5 {
			t.Errorf("%s->%s %s: loss %v, counts give %v", st.From, st.To, st.Kind, st.LossFraction, f)
		}
	}
}

// A negotiated track that carried nothing appears in streams[] and fails
// the run through the implicit check, unless an explicit packets_received
// expectation selects it. (pion announces a remote track only with its
// first packet: such a track used to be missing from the report.)
func TestSilentTrackFails(t *testing.T) {
	for _, explicit := range []bool{false, true} {
		expect := ""
		if explicit {
			expect = "expect:\n  - {metric: packets_received, max: 0}\n"
		}
		// bob's UDP is blocked and there is no TURN server: nothing flows.
		s, err := scenarios.Parse("silent.yaml", []byte(`name: silent
topology: p2p
duration: 10s
ice: {stun: true, turn: false}
participants:
  - {name: alice, nat: open, publish: [audio, video]}
  - {name: bob, nat: udp-blocked, publish: [audio, video]}
`+expect))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := runVirtual(t, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		implicit := 0
		for _, c := range rep.Checks {
			if strings.Contains(c.Name, "implicit") {
				implicit++
				if c.Verdict != "fail" {
					t.Errorf("implicit check %+v", c)
				}
			}
		}
		for _, kind := range []string{"audio", "video"} {
			st := stream(t, rep, "alice", "bob", kind)
			if st.PacketsReceived != 0 {
				t.Errorf("alice->bob %s received %d", kind, st.PacketsReceived)
			}
		}
		// The picture that never came is frozen for the whole call.
		if v := stream(t, rep, "alice", "bob", "video").Video; v == nil || v.FPS != 0 || v.FreezeCount != 1 || v.FreezeMS < 9000 {
			t.Errorf("alice->bob video: want 0 fps and one freeze of the call, got %+v", v)
		}
		switch {
		case !explicit && (implicit != 4 || rep.Verdict != "fail"):
			t.Errorf("without an expectation: %d implicit checks, verdict %s", implicit, rep.Verdict)
		case explicit && (implicit != 0 || rep.Verdict != "pass"):
			t.Errorf("an explicit packets_received expectation left %d implicit checks, verdict %s", implicit, rep.Verdict)
		}
	}
}

// checkSeriesAgree checks that what the plots draw agrees with the stream
// table: the freeze series peaks at each freeze's length and at nothing
// else, and the loss series' 1 s windows average to LOSS (with a roughly
// steady packet rate the windows weigh alike). The old plots peaked at
// 311 ms for a table of 8 freezes, 1733 ms, and averaged 0.3 % loss
// where the table said 0.00.
func checkSeriesAgree(t *testing.T, rep *reports.Report) {
	t.Helper()
	for _, st := range rep.Streams {
		name := st.From + "->" + st.To + " " + st.Kind
		drawn := 0
		for _, s := range rep.Series {
			switch {
			case s.Metric == "freeze_ms" && s.Name == "frozen "+name:
				drawn++
				var peaks []float64
				for i, p := range s.Points {
					if p.V > 0 && (i+1 == len(s.Points) || s.Points[i+1].V < p.V) {
						peaks = append(peaks, p.V)
					}
				}
				if len(peaks) != len(st.Video.Freezes) {
					t.Errorf("%s: %d ramps, %d freezes in the table", name, len(peaks), len(st.Video.Freezes))
					continue
				}
				for i, f := range st.Video.Freezes {
					if math.Abs(peaks[i]-f.DurationMS) > 0.5 {
						t.Errorf("%s: ramp %d peaks at %.1f ms, the table's freeze is %.1f ms", name, i, peaks[i], f.DurationMS)
					}
				}
			case s.Metric == "loss_fraction" && s.Name == "loss "+name:
				drawn++
				var sum float64
				n := 0
				for _, p := range s.Points {
					if !math.IsNaN(p.V) && math.Mod(p.T+1e-9, 1) < 0.05 { // whole seconds: disjoint windows
						sum += p.V
						n++
					}
				}
				if n > 0 && math.Abs(sum/float64(n)-st.LossFraction) > 0.02 {
					t.Errorf("%s: loss windows average %.4f, LOSS %.4f", name, sum/float64(n), st.LossFraction)
				}
			}
		}
		if want := map[string]int{"video": 2, "audio": 1}[st.Kind]; drawn != want {
			t.Errorf("%s: %d of its %d series drawn", name, drawn, want)
		}
	}
}

// Video over a link below its rate: a handful of frames is shown and the
// picture stands still. The old build reported 18 fps and 0 freezes for 7
// of 116 frames shown in 60 s (fps from the first to the last shown frame;
// no freeze judged before 5 gaps).
func TestSlowLinkIsFrozen(t *testing.T) {
	rep := runYAML(t, "slow.yaml", `name: slow
duration: 30s
participants:
  - {name: alice, nat: open, publish: [video]}
  - {name: bob, nat: open, publish: [audio], downlink: {delay: 20ms, rate: 300kbps}}
`)
	v := stream(t, rep, "alice", "bob", "video").Video
	if v == nil {
		t.Fatal("no video")
	}
	span := 30.0 - *v.TimeToFirstFrameMS/1000
	if want := float64(v.FramesShown) / span; v.FPS > want*1.1 || v.FPS > 10 {
		t.Errorf("fps %.2f for %d frames shown in ~%.0f s", v.FPS, v.FramesShown, span)
	}
	if v.FramesShown < 100 && v.FreezeMS < 20000 {
		t.Errorf("%d frames shown in 30 s but only %.0f ms frozen (%d freezes)", v.FramesShown, v.FreezeMS, v.FreezeCount)
	}
}
