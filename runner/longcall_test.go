package runner

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// Long calls: media must flow to the end of a call, however long. Calls
// through the SFU went silent after 32,768 packets of a layer (issue #20):
// video at about 8.5 minutes, audio at about 11.
//
// Each takes 20 minutes of virtual time, 60-110 s of wall time on a
// shared 2-core machine, so they run only with RTCLAB_LONG_CALLS=1, which
// make test (and so CI) sets; make longcalls runs them alone. The
// 32,768-packet cut itself is also pinned by the munger's unit tests
// (stack/sfu), which run every time.
func skipUnlessLongCalls(t *testing.T) {
	t.Helper()
	if testing.Short() || os.Getenv("RTCLAB_LONG_CALLS") != "1" {
		t.Skip("20-minute calls: set RTCLAB_LONG_CALLS=1 (make longcalls)")
	}
}

const longCall = 20 * time.Minute

// TestLongCallSFU is the quickstart (A/V through the SFU, 3 % loss on
// bob's downlink) for 20 minutes.
func TestLongCallSFU(t *testing.T) {
	skipUnlessLongCalls(t)
	s := mustLoad(t, "quickstart")
	s.Duration.Duration = longCall
	start := time.Now()
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v call in %v wall", longCall, time.Since(start).Round(time.Second))
	if rep.Verdict != "pass" {
		t.Errorf("verdict %s; checks %+v", rep.Verdict, rep.Checks)
	}
	if len(rep.Streams) != 4 {
		t.Fatalf("%d streams, want 4", len(rep.Streams))
	}
	for _, st := range rep.Streams {
		// Configured loss: 3 % on bob's downlink, repaired for video.
		loss := 0.0
		if st.To == "bob" && st.Kind == "audio" {
			loss = 0.03
		}
		receivedAsSent(t, st, loss)
		flowsToTheEnd(t, rep, st)
	}
}

// TestLongCallSimulcast is alice publishing three simulcast layers to bob
// and carol for 20 minutes; bob's downlink is cut to 300 kbit/s for a
// minute in the middle. Every layer switch starts a new layer in the
// munger, and bob's last layer runs for more than 32,768 packets.
func TestLongCallSimulcast(t *testing.T) {
	skipUnlessLongCalls(t)
	s, err := scenarios.Parse("longcall-simulcast.yaml", []byte(`
name: longcall-simulcast
topology: sfu
duration: 20m
participants:
  - name: alice
    publish: [audio, video]
    simulcast: true
    uplink: {delay: 15ms}
    downlink: {delay: 15ms}
  - name: bob
    downlink:
      delay: 20ms
      schedule:
        - {at: 9m, rate: 300kbps, queue: 200ms}
        - {at: 10m, rate: unlimited}
  - name: carol
    downlink: {delay: 20ms}
expect:
  - metric: connected
    min: 1
  - metric: layer
    to: bob
    kind: video
    at: 9m30s
    max: 0
  - metric: layer
    kind: video
    at: 19m
    min: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v call in %v wall", longCall, time.Since(start).Round(time.Second))
	if rep.Verdict != "pass" {
		t.Errorf("verdict %s; checks %+v", rep.Verdict, rep.Checks)
	}
	if len(rep.Streams) != 4 {
		t.Fatalf("%d streams, want 4", len(rep.Streams))
	}
	for _, st := range rep.Streams {
		if st.Kind == "audio" {
			receivedAsSent(t, st, 0)
		} else {
			// packets_sent counts only the lowest layer of a simulcast
			// track (issue #10 item 6); count frames instead: 30 fps,
			// less what bob's minute at 300 kbit/s may cost.
			if st.Video == nil {
				t.Fatalf("%s->%s video: no video measurements", st.From, st.To)
			}
			want := 0.9 * 30 * longCall.Seconds()
			if got := float64(st.Video.FramesReceived); got < want {
				t.Errorf("%s->%s video: %v frames received, want at least %v", st.From, st.To, got, want)
			}
			if st.Video.Layer != "f" {
				t.Errorf("%s->%s video ends on layer %q, want f", st.From, st.To, st.Video.Layer)
			}
		}
		flowsToTheEnd(t, rep, st)
	}
}

// receivedAsSent checks a stream's whole-call count: RECV within the
// configured loss of SENT, allowing four standard errors of a binomial
// loss count (4·sqrt(n·p·(1-p))) and, with no loss configured, 0.1 % for
// packets the sender wrote before the path was up (issue #10 item 6).
func receivedAsSent(t *testing.T, st reports.Stream, loss float64) {
	t.Helper()
	n := float64(st.PacketsSent)
	if n < 40*longCall.Seconds() {
		t.Errorf("%s->%s %s: only %d packets sent in %v", st.From, st.To, st.Kind, st.PacketsSent, longCall)
		return
	}
	want := n*(1-loss) - 4*math.Sqrt(n*loss*(1-loss)) - 0.001*n
	if got := float64(st.PacketsReceived); got < want {
		t.Errorf("%s->%s %s: RECV/SENT %d/%d, want at least %.0f received (loss %.0f %%)",
			st.From, st.To, st.Kind, st.PacketsReceived, st.PacketsSent, want, loss*100)
	}
}

// flowsToTheEnd checks the stream's last minute: its bitrate series (1 s
// windows every 100 ms) never drops to zero and averages at least 80 %
// of the whole call's mean, and its loss series, sampled only in windows
// where sequence numbers advanced, has a sample in every window.
func flowsToTheEnd(t *testing.T, rep *reports.Report, st reports.Stream) {
	t.Helper()
	name := st.From + "->" + st.To + " " + st.Kind
	from := longCall.Seconds() - 60
	var sum float64
	var nb, nl, zero int
	for _, s := range rep.Series {
		for _, p := range s.Points {
			if p.T < from {
				continue
			}
			switch s.Name {
			case "bitrate " + name:
				sum += p.V
				nb++
				if p.V == 0 {
					zero++
				}
			case "loss " + name:
				nl++
			}
		}
	}
	if nb < 590 || nl < 590 {
		t.Errorf("%s: %d bitrate and %d loss samples in the last minute, want ~600 each (media stopped?)", name, nb, nl)
		return
	}
	if zero > 0 {
		t.Errorf("%s: nothing received in %d of the last minute's 1 s windows", name, zero)
	}
	if mean := sum / float64(nb); mean < 0.8*st.BitrateKbps {
		t.Errorf("%s: %.0f kbit/s in the last minute, %.0f over the call", name, mean, st.BitrateKbps)
	}
}
