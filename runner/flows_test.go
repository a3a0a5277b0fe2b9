package runner

import (
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// flowsYAML is a small flows scenario every kind of flow takes part in.
const flowsYAML = `name: flows-mix
topology: flows
duration: 30s
participants:
  - name: a
    uplink: {rate: 2Mbps, queue: 200ms, schedule: [{at: 15s, rate: 1Mbps}]}
  - name: b
    downlink: {delay: 20ms}
    uplink: {delay: 20ms}
flows:
  - {name: v1, kind: media, from: a, to: b}
  - {name: v2, kind: media, from: a, to: b, start: 5s, pause: [{at: 20s, resume: 24s}]}
  - {name: cbr, kind: cbr, from: a, to: b, rate: 200kbps, start: 10s, stop: 20s}
  - {name: voice, kind: audio, from: a, to: b, stop: 25s}
  - {name: web, kind: tcp, from: a, to: b, count: 2, files: {min: 20KB, max: 40KB, mean_off: 3s, start_on: 1}}
expect:
  - {metric: rate_kbps, min: 100}
  - {metric: residual_loss_fraction, max: 0.05}
`

func TestFlowsParseErrors(t *testing.T) {
	base := "name: x\ntopology: flows\nduration: 30s\nparticipants:\n  - name: a\n  - name: b\n"
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"no flows", base, []string{"t.yaml:1: flows: the flows topology needs at least one flow"}},
		{"bad kind and peers", base + "flows:\n  - {name: f, kind: quic, from: a, to: c}\n", []string{
			`t.yaml:8: flows[0].kind: unknown kind "quic" (allowed: media, audio, cbr, tcp)`,
			`t.yaml:8: flows[0].to: no participant named "c"`,
		}},
		{"cbr needs a rate", base + "flows:\n  - {name: f, kind: cbr, from: a, to: b}\n", []string{
			"t.yaml:8: flows[0].rate: a cbr flow needs a rate within 8kbps..100Gbps, e.g. rate: 1Mbps",
		}},
		{"field of another kind", base + "flows:\n  - {name: f, kind: tcp, from: a, to: b, fps: 30}\n", []string{
			"t.yaml:8: flows[0].fps: fps applies to media flows only",
		}},
		{"stop before start", base + "flows:\n  - {name: f, kind: media, from: a, to: b, start: 10s, stop: 5s}\n", []string{
			"t.yaml:8: flows[0].stop: 5s must be after start (10s) and at most the duration (30s)",
		}},
		{"pause outside", base + "flows:\n  - name: f\n    kind: media\n    from: a\n    to: b\n    pause: [{at: 40s, resume: 50s}]\n", []string{
			"t.yaml:12: flows[0].pause[0].at: 40s is not within the flow (0s..30s)",
		}},
		{"files without idle time", base + "flows:\n  - name: f\n    kind: tcp\n    from: a\n    to: b\n    files: {min: 30KB, max: 50KB}\n", []string{
			"t.yaml:12: flows[0].files.mean_off: files needs mean_off",
		}},
		{"unknown field", base + "flows:\n  - {name: f, kind: media, from: a, to: b, bitrate: 1Mbps}\n", []string{
			`t.yaml:8: flows[0].bitrate: unknown field "bitrate"`,
		}},
		{"expect of another topology", base + "flows:\n  - {name: f, kind: media, from: a, to: b}\nexpect:\n  - {metric: jitter_ms, max: 1}\n  - {metric: utilization, flow: g, min: 1}\n", []string{
			`t.yaml:10: expect[0].metric: unknown metric "jitter_ms" for the flows topology`,
			`t.yaml:11: expect[1].flow: no flow named "g"`,
		}},
		{"criterion and known failure", base + "flows:\n  - {name: f, kind: media, from: a, to: b}\nexpect:\n  - {metric: rate_kbps, min: 1, criterion: rfc8868}\n  - {metric: rate_kbps, min: 1, criterion: guideline}\n  - metric: rate_kbps\n    min: 1\n    known_failure: {reason: slow, link: interceptor#299}", []string{
			`t.yaml:10: expect[0].criterion: unknown criterion "rfc8868" (allowed: rfc, when a document gives the bound; guideline, when rtclab chose it)`,
			"t.yaml:11: expect[1].criterion: criterion guideline needs source: why rtclab chose this bound",
			`t.yaml:14: expect[2].known_failure.link: known_failure link "interceptor#299": give the upstream issue as an http(s) URL`,
		}},
		{"unknown field of known_failure", base + "flows:\n  - {name: f, kind: media, from: a, to: b}\nexpect:\n  - {metric: rate_kbps, min: 1, known_failure: {link: 'https://x.org/1', why: x}}\n", []string{
			`t.yaml:10: expect[0].known_failure.why: unknown field "why" (allowed: reason, link)`,
		}},
		{"utilization beside TCP", base + "flows:\n  - {name: f, kind: media, from: a, to: b}\n  - {name: t, kind: tcp, from: a, to: b}\nexpect:\n  - {metric: utilization, min: 0.5}\n", []string{
			"t.yaml:11: expect[0].metric: utilization is not meaningful beside TCP cross traffic (RFC 8868 section 3 item 10",
		}},
		{"audio and packet sizes", base + "flows:\n  - {name: f, kind: audio, from: a, to: b, packet: 2000B}\n  - {name: g, kind: tcp, from: a, to: b, packet: 100B}\n", []string{
			"t.yaml:8: flows[0].packet: packet must be a size within 28B..1472B",
			"t.yaml:9: flows[1].packet: packet applies to cbr flows only",
		}},
		{"NAT", "name: x\ntopology: flows\nduration: 30s\nparticipants:\n  - {name: a, nat: symmetric}\n  - name: b\nflows:\n  - {name: f, kind: media, from: a, to: b}\n", []string{
			"t.yaml:5: participants[0].nat: the flows topology has no STUN or TURN server",
		}},
		{"flows elsewhere", "name: x\nduration: 30s\nparticipants:\n  - name: a\nflows:\n  - {name: f, kind: media, from: a, to: b}\n", []string{
			"t.yaml:5: flows: flows belong to the flows topology (topology: flows)",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scenarios.Parse("t.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\nlacks\n%s", err, w)
				}
			}
		})
	}
}

func TestFlowsExpandCount(t *testing.T) {
	s, err := scenarios.Parse("t.yaml", []byte(flowsYAML))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	on := 0
	for _, f := range s.FlowInstances {
		names = append(names, f.ID)
		if f.Kind == scenarios.FlowTCP && f.DownloadFirst {
			on++
		}
	}
	if want := []string{"v1", "v2", "cbr", "voice", "web-1", "web-2"}; !reflect.DeepEqual(names, want) || on != 1 {
		t.Errorf("flows %v (%d starting on), want %v (1)", names, on, want)
	}
	if !matchFlow("web-2", "web") || matchFlow("web-2x", "web") || matchFlow("webby", "web") {
		t.Error("matchFlow")
	}
}

// TestFlowsRepeat runs every kind of flow twice with one seed: the
// metrics must be identical (RFC 8867 evaluations compare runs).
func TestFlowsRepeat(t *testing.T) {
	if raceDetector {
		t.Skip("-race reorders goroutines on purpose, so runs differ; make test runs this without -race")
	}
	var first *scenarios.Scenario
	var bws [2]any
	for i := range 2 {
		s, err := scenarios.Parse("t.yaml", []byte(flowsYAML))
		if err != nil {
			t.Fatal(err)
		}
		first = s
		rep, err := runVirtual(t, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != "pass" {
			t.Errorf("run %d: %+v", i, rep.Checks)
		}
		bw := rep.Bandwidth
		if bw == nil || len(bw.Flows) != 6 || len(bw.Links) != 1 {
			t.Fatalf("bandwidth section: %+v", bw)
		}
		for _, f := range bw.Flows {
			if f.RateKbps <= 0 || f.ReceiveKbps <= 0 || len(f.DelayCDFMS) != cdfPoints {
				t.Errorf("flow %s measured nothing: %+v", f.Name, f)
			}
		}
		bws[i] = *bw
	}
	if !reflect.DeepEqual(bws[0], bws[1]) {
		t.Errorf("two runs of %s with seed %d differ:\n%+v\n%+v", first.Name, first.Seed, bws[0], bws[1])
	}
}

// TestQueueSizeDirection checks the direction RFC 8867 section 5.6 sets
// up its two queue sizes for: against a loss-based TCP flow, which fills
// whatever buffer there is, a larger bottleneck queue means a longer
// queueing delay for the media, and (RFC 8868 section 2) a smaller share
// for a delay-based controller.
func TestQueueSizeDirection(t *testing.T) {
	small, err := runVirtual(t, mustLoad(t, "rfc8867/5.6"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	large, err := runVirtual(t, mustLoad(t, "rfc8867/5.6_1000ms"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	video := func(r *reports.Bandwidth) (p95, rate float64) {
		for _, f := range r.Flows {
			if f.Name == "video" {
				return val(f.QueueDelayP95MS), f.RateKbps
			}
		}
		t.Fatal("no video flow")
		return 0, 0
	}
	p95s, rates := video(small.Bandwidth)
	p95l, ratel := video(large.Bandwidth)
	if !(p95l > p95s) {
		t.Errorf("queueing delay p95: %.0f ms with a 1000 ms queue, %.0f ms with 300 ms; want larger", p95l, p95s)
	}
	if !(ratel < rates) {
		t.Errorf("media rate: %.0f kbps with a 1000 ms queue, %.0f kbps with 300 ms; want smaller", ratel, rates)
	}
}

// TestFlowsInterrupted stops a flows run at its first sample: the report
// is partial, fails, and still holds every flow.
func TestFlowsInterrupted(t *testing.T) {
	s, err := scenarios.Parse("t.yaml", []byte(flowsYAML))
	if err != nil {
		t.Fatal(err)
	}
	stop := new(atomic.Bool)
	stop.Store(true)
	rep, err := runVirtual(t, s, Options{Interrupt: stop})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err %v, want ErrInterrupted", err)
	}
	if !rep.Partial || rep.Verdict != "fail" || rep.Bandwidth == nil || len(rep.Bandwidth.Flows) != 6 {
		t.Errorf("partial %v verdict %q bandwidth %+v", rep.Partial, rep.Verdict, rep.Bandwidth)
	}
}
