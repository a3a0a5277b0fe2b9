package runner

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/bubble"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// runVirtual runs a scenario inside a synctest bubble. The bubble is itself
// a leak check: synctest.Test fails if any goroutine the run started is
// still blocked when it returns.
func runVirtual(t *testing.T, s *scenarios.Scenario, opt Options) (*reports.Report, error) {
	t.Helper()
	var rep *reports.Report
	var err error
	opt.Clock = ClockVirtual
	bubble.Run(t, func() {
		rep, err = Run(context.Background(), s, opt)
	})
	return rep, err
}

func mustLoad(t *testing.T, ref string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Load(ref)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func stream(t *testing.T, rep *reports.Report, from, to, kind string) reports.Stream {
	t.Helper()
	for _, s := range rep.Streams {
		if s.From == from && s.To == to && s.Kind == kind {
			return s
		}
	}
	t.Fatalf("no stream %s->%s %s in %+v", from, to, kind, rep.Streams)
	return reports.Stream{}
}

func TestQuickstart(t *testing.T) {
	rep, err := runVirtual(t, mustLoad(t, "quickstart"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != "pass" {
		t.Errorf("verdict %s; checks %+v", rep.Verdict, rep.Checks)
	}
	if len(rep.Participants) != 2 || len(rep.Streams) != 4 {
		t.Fatalf("%d participants, %d streams; want 2, 4", len(rep.Participants), len(rep.Streams))
	}
	for _, p := range rep.Participants {
		if !p.Connected || p.SelectedPair == nil || p.Peer != "sfu" {
			t.Errorf("%s: connected %v pair %+v peer %q", p.Name, p.Connected, p.SelectedPair, p.Peer)
		}
	}
	// bob's downlink drops 3 % of packets at random. Audio is not repaired,
	// so its loss estimates the link's: with n ≈ 1500 packets the standard
	// error is sqrt(0.03*0.97/1500) ≈ 0.0044; allow 4 of them.
	audio := stream(t, rep, "alice", "bob", "audio")
	n := float64(audio.PacketsReceived) / (1 - audio.LossFraction)
	tol := 4 * math.Sqrt(0.03*0.97/n)
	if math.Abs(audio.LossFraction-0.03) > tol {
		t.Errorf("alice->bob audio loss %.4f, want 0.03 ± %.4f", audio.LossFraction, tol)
	}
	video := stream(t, rep, "alice", "bob", "video")
	if math.Abs(video.RawLossFraction-0.03) > 4*math.Sqrt(0.03*0.97/float64(video.PacketsSent)) {
		t.Errorf("alice->bob video raw loss %.4f, want about 0.03", video.RawLossFraction)
	}
	if video.LossFraction > video.RawLossFraction/5 || video.NACKCount == 0 {
		t.Errorf("video: loss after repair %.4f vs raw %.4f with %d NACKs: NACK/RTX repair is not working",
			video.LossFraction, video.RawLossFraction, video.NACKCount)
	}
	if rtt := video.RTTMS; rtt == nil || math.Abs(*rtt-40) > 5 {
		t.Errorf("bob's RTT %v, want about 40 ms (the downlink delay)", rtt)
	}
	if back := stream(t, rep, "bob", "alice", "audio"); back.LossFraction != 0 {
		t.Errorf("bob->alice audio lost %.4f on a clean path", back.LossFraction)
	}
	for _, s := range rep.Series {
		if len(s.Points) < 250 {
			t.Errorf("series %s has %d points, want ~300 (100 ms over 30 s)", s.Name, len(s.Points))
		}
	}
}

// TestNotConnected is the case that breaks "connected": with UDP blocked
// and no TURN over TCP, bob has no path at all. He must be reported as
// not connected, with no setup time and a failed check, while alice is
// unaffected.
func TestNotConnected(t *testing.T) {
	s := mustLoad(t, "udp-blocked")
	off := false
	s.ICE.TURNTCP = &off
	s.Duration.Duration = 5 * time.Second
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range rep.Participants {
		got[p.Name] = p.Connected
		if !p.Connected && (p.TimeToConnectMS != nil || p.SelectedPair != nil) {
			t.Errorf("%s: not connected, yet setup time %v pair %+v", p.Name, p.TimeToConnectMS, p.SelectedPair)
		}
	}
	if !got["alice"] || got["bob"] {
		t.Errorf("connected %v, want alice only", got)
	}
	failed := false
	for _, c := range rep.Checks {
		if c.Name == "bob connected" {
			failed = c.Verdict == analysis.Fail && c.Value != nil && *c.Value == 0
		}
	}
	if !failed || rep.Verdict != "fail" {
		t.Errorf("verdict %s; want bob connected = 0 to fail: %+v", rep.Verdict, rep.Checks)
	}
}

func TestQuickstartP2PRelays(t *testing.T) {
	rep, err := runVirtual(t, mustLoad(t, "quickstart-p2p"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != "pass" {
		t.Errorf("verdict %s; checks %+v", rep.Verdict, rep.Checks)
	}
	for _, p := range rep.Participants {
		if p.SelectedPair == nil || (p.SelectedPair.Local != "relay" && p.SelectedPair.Remote != "relay") {
			t.Errorf("%s: pair %+v, want a relay: symmetric vs port-restricted cannot connect directly", p.Name, p.SelectedPair)
		}
	}
}

// The same seed gives the same packet fates, so the same streams, exactly.
func TestSameSeedSameStreams(t *testing.T) {
	variants := map[string]func(*scenarios.Scenario){
		"quickstart":     nil,
		"quickstart-p2p": nil,
		// Delay on both ends used to make p2p runs differ (README).
		"quickstart-p2p delays both ends": func(s *scenarios.Scenario) {
			s.Participants[0].Resolved.Uplink.Delay = 10 * time.Millisecond
			s.Participants[0].Resolved.Downlink.Delay = 10 * time.Millisecond
		},
	}
	for name, change := range variants {
		t.Run(name, func(t *testing.T) {
			s := mustLoad(t, strings.Fields(name)[0])
			s.Duration.Duration = 10 * time.Second
			if change != nil {
				change(s)
			}
			a, err := runVirtual(t, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				b, err := runVirtual(t, s, Options{})
				if err != nil {
					t.Fatal(err)
				}
				for i := range a.Streams {
					if !reflect.DeepEqual(withoutSSRCs(a.Streams[i]), withoutSSRCs(b.Streams[i])) {
						x, _ := json.Marshal(a.Streams[i])
						y, _ := json.Marshal(b.Streams[i])
						t.Errorf("stream %d differs:\n%s\n%s", i, x, y)
					}
				}
			}
			s.Seed = 2
			c, err := runVirtual(t, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if reflect.DeepEqual(a.Streams, c.Streams) {
				t.Error("seed 2 gave exactly the streams of seed 1")
			}
		})
	}
}

// withoutSSRCs returns st with its SSRCs zeroed: pion draws them at
// random, and they are names, not measurements.
func withoutSSRCs(st reports.Stream) reports.Stream {
	if st.Wire != nil {
		w := *st.Wire
		w.SSRC, w.RTXSSRC, w.PublisherSSRCs, w.PublisherRTXSSRCs = 0, 0, nil, nil
		st.Wire = &w
	}
	return st
}

func TestInterruptLeavesPartialReport(t *testing.T) {
	var stop atomic.Bool
	stop.Store(true)
	rep, err := runVirtual(t, mustLoad(t, "quickstart"), Options{Interrupt: &stop})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if !rep.Partial || rep.Verdict != "fail" || rep.Error == "" || len(rep.Participants) != 2 {
		t.Errorf("partial %v verdict %s error %q participants %d", rep.Partial, rep.Verdict, rep.Error, len(rep.Participants))
	}
}

// The real clock runs the same code on real sockets-free vnet but wall
// time, with signaling over loopback TCP; nothing may be left running.
func TestRealClockShortRunLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	leakcheck.Check(t)
	s := mustLoad(t, "quickstart")
	s.Duration.Duration = 3 * time.Second
	s.Expect = nil
	rep, err := Run(context.Background(), s, Options{Clock: ClockReal})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scenario.Clock != ClockReal || len(rep.Streams) != 4 {
		t.Errorf("clock %s, %d streams", rep.Scenario.Clock, len(rep.Streams))
	}
}

// The timeline samples at whole steps of scenario time plus the sample
// offset, however long the setup before it took: a series point at T
// counts what arrived by start+T (issue #10, trace-dip: with 23 µs of
// setup every sample came 23 µs late and counted the packets a trace
// link delivered in between, which the recount from the captures does not).
func TestTimelineSamplesOnTheSteps(t *testing.T) {
	offset := phase.SampleOffset.Value()
	for _, setup := range []time.Duration{0, 23442 * time.Nanosecond, sampleEvery, 3*sampleEvery + time.Millisecond} {
		t.Run(setup.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				time.Sleep(setup)
				var got []time.Duration
				err := runTimeline(context.Background(), start, 5*sampleEvery, gcEvery(0), Options{Clock: ClockVirtual}, func(string, string, string) {},
					func(now time.Time, _ time.Duration) { got = append(got, now.Sub(start)) })
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == 0 {
					t.Fatal("no samples")
				}
				for i, at := range got {
					if at%sampleEvery != offset {
						t.Errorf("sample %d at %v: not %v after a step", i, at, offset)
					}
					if at <= setup {
						t.Errorf("sample %d at %v: before the setup ended (%v)", i, at, setup)
					}
				}
			})
		})
	}
}

// A virtual-time run collects garbage every collectEvery of scenario time
// and as its call ends, at sample instants alone: a matrix cell (5 s, a
// call of two, collectEvery 30 s) that never collected piled its garbage
// up until the bubble's memory limit collected at an arbitrary instant,
// and a cell's NAT ports differed between two runs of the matrix.
func TestTimelineCollects(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // only the timeline collects
	cases := []struct {
		every, total time.Duration
		want         uint32
	}{
		{every: gcEvery(2), total: 5 * time.Second, want: 1},              // a matrix cell: at its end
		{every: gcEvery(2), total: 60 * time.Second, want: 2},             // at 30 s and 60 s
		{every: gcEvery(2), total: 45 * time.Second, want: 2},             // at 30 s and at the end
		{every: gcEvery(10), total: 5*time.Second + sampleEvery, want: 3}, // a room: every 2 s and at the end
	}
	for _, tc := range cases {
		var before, after runtime.MemStats
		synctest.Test(t, func(t *testing.T) {
			runtime.ReadMemStats(&before)
			err := runTimeline(context.Background(), time.Now(), tc.total, tc.every, Options{Clock: ClockVirtual}, func(string, string, string) {},
				func(time.Time, time.Duration) {})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
		})
		if n := after.NumGC - before.NumGC; n != tc.want {
			t.Errorf("every %v for %v: %d collections, want %d", tc.every, tc.total, n, tc.want)
		}
	}
}

// runYAML runs the scenario text yaml (named name in errors) in virtual
// time with the default options; a scenario that does not parse or run
// fails the test.
func runYAML(t *testing.T, name, yaml string) *reports.Report {
	t.Helper()
	s, err := scenarios.Parse(name, []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
