package runner

import (
	"math"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

const avCall = `name: t
duration: 10s
participants:
  - name: alice
    nat: open
    publish: [audio, video]
  - name: bob
    nat: open
    publish: [audio]
expect:
`

// A check whose metric cannot exist for the streams it selects is an
// input error at load time (exit 2), with file, line and field, not a
// check that fails after the run.
func TestMetricKindErrors(t *testing.T) {
	tests := []struct {
		name, expect, want string
	}{
		{"mos on video", "  - {metric: mos, kind: video, min: 3}\n",
			"t.yaml:11: expect[0].kind: mos exists for audio streams only, not video (allowed kind: audio)"},
		{"fps on audio", "  - {metric: fps, kind: audio, min: 20}\n",
			"t.yaml:11: expect[0].kind: fps exists for video streams only, not audio (allowed kind: video)"},
		{"fps from an audio-only publisher", "  - {metric: fps, from: bob, min: 20}\n",
			"t.yaml:11: expect[0].from: fps measures video streams, but bob publishes no video"},
		{"layer without simulcast", "  - {metric: layer, min: 1}\n",
			"t.yaml:11: expect[0].metric: layer exists for simulcast streams only, and no matching publisher sets simulcast: true"},
		{"layer_min without simulcast", "  - {metric: layer_min, to: bob, min: 1}\n",
			"t.yaml:11: expect[0].metric: layer_min exists for simulcast streams only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scenarios.Parse("t.yaml", []byte(avCall+tt.expect))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	for _, ok := range []string{
		"  - {metric: mos, min: 3}\n",               // selects the audio streams only
		"  - {metric: fps, from: alice, min: 20}\n", // alice sends video
		"  - {metric: loss_fraction, kind: video, max: 1%}\n",
	} {
		if _, err := scenarios.Parse("t.yaml", []byte(avCall+ok)); err != nil {
			t.Errorf("%s: %v", strings.TrimSpace(ok), err)
		}
	}
}

// Every metric of the table has a value for the checks, and every value
// function belongs to a metric of the table.
func TestMetricTableHasValues(t *testing.T) {
	v := 1.0
	st := reports.Stream{Kind: "video", PacketsExpected: 10, PacketsReceived: 10, RTTMS: &v, RecoveryMS: &v,
		Video: &reports.VideoStream{TimeToFirstFrameMS: &v, KeyframeLatencyMS: &v}, Audio: &reports.AudioStream{}}
	n := 0
	p := reports.Participant{Connected: true, TimeToConnectMS: &v, SelectedPair: &reports.CandidatePair{}, AddressesExposed: &n}
	for _, m := range analysis.Metrics {
		switch {
		case m.Scope == analysis.ScopeParticipant:
			if math.IsNaN(participantValue(p, m.Name)) {
				t.Errorf("participant metric %s has no value", m.Name)
			}
		case m.Scope != analysis.ScopeStream || m.Name == "layer" || m.Name == "negotiated":
			// flows metrics, and the two with their own evaluation
		case m.Simulcast:
			if streamValues[m.Name] == nil {
				t.Errorf("metric %s has no value function", m.Name)
			}
		case math.IsNaN(streamValue(st, m.Name)):
			t.Errorf("metric %s has no value", m.Name)
		}
	}
	for name := range streamValues {
		if m, ok := analysis.LookupMetric(name, false); !ok || m.Scope != analysis.ScopeStream {
			t.Errorf("value function %s is not a stream metric of the table", name)
		}
	}
	for name := range participantValues {
		if m, ok := analysis.LookupMetric(name, false); !ok || m.Scope != analysis.ScopeParticipant {
			t.Errorf("value function %s is not a participant metric of the table", name)
		}
	}
}
