package runner

import (
	"fmt"
	"math"
	"testing"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

func TestMetricValues(t *testing.T) {
	util := 0.7
	call := &reports.Report{
		Scenario:     reports.ScenarioInfo{Topology: "sfu"},
		Participants: []reports.Participant{{Name: "alice", Connected: true}, {Name: "bob"}},
		Streams: []reports.Stream{
			{From: "alice", To: "bob", Kind: "audio", PacketsExpected: 10, LossFraction: 0.1, Audio: &reports.AudioStream{MOS: 3.9}},
			{From: "bob", To: "alice", Kind: "video", PacketsExpected: 10, Video: &reports.VideoStream{FreezeCount: 4}},
			{From: "bob", To: "alice", Kind: "audio"}, // expected no packet: loss not measured
		},
	}
	flows := &reports.Report{
		Scenario: reports.ScenarioInfo{Topology: scenarios.TopologyFlows},
		Bandwidth: &reports.Bandwidth{
			Flows: []reports.BandwidthFlow{{Name: "media-1", RateKbps: 900}, {Name: "tcp-1", RateKbps: 300}},
			Links: []reports.BottleneckLink{{Name: "b downlink", Utilization: &util}},
		},
	}
	for _, tc := range []struct {
		rep    *reports.Report
		metric string
		want   string
	}{
		{call, "connected", "[alice=1 bob=0]"},
		{call, "freeze_count", "[bob->alice video=4]"}, // video only
		{call, "mos", "[alice->bob audio=3.9 bob->alice audio=NaN]"},
		{call, "loss_fraction", "[alice->bob audio=0.1 bob->alice video=0 bob->alice audio=NaN]"},
		{call, "layer", "[]"},
		{call, "negotiated", "[]"},
		{call, "rate_kbps", "[]"}, // a flows metric in a call
		{call, "no_such", "[]"},
		{flows, "rate_kbps", "[media-1=900 tcp-1=300]"},
		{flows, "utilization", "[b downlink=0.7]"},
		{flows, "mos", "[]"},
		{nil, "mos", "[]"},
	} {
		got := "["
		for i, v := range MetricValues(tc.rep, tc.metric) {
			if i > 0 {
				got += " "
			}
			if math.IsNaN(v.Value) {
				got += v.Subject + "=NaN"
			} else {
				got += fmt.Sprintf("%s=%v", v.Subject, v.Value)
			}
		}
		got += "]"
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.metric, got, tc.want)
		}
	}
}
