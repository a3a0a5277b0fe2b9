package reports_test

import (
	"math"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
)

func ptr(v float64) *float64 { return &v }

// fixture is a complete, deterministic report: three participants on an
// SFU, one of them behind a symmetric NAT and relayed, one failed check.
// Every number is fixed so rendered output can be compared to golden files.
func fixture() *reports.Report {
	return &reports.Report{
		Schema:    reports.Schema,
		Tool:      "rtclab dev",
		StartedAt: "2026-03-14T09:26:53Z",
		Scenario: reports.ScenarioInfo{
			Name:        "quickstart",
			File:        "embedded:quickstart.yaml",
			Description: "Two publishers and a viewer on an SFU; bob is behind a symmetric NAT & needs TURN.",
			Topology:    "sfu",
			Clock:       "virtual",
			Seed:        42,
			DurationS:   30,
		},
		WallSeconds: 1.8,
		Verdict:     analysis.Fail,
		Participants: []reports.Participant{
			{Name: "alice", NAT: "none", Address: "10.0.1.2", Connected: true, ConnectedFraction: 0.993, TimeToConnectMS: ptr(212), Peer: "sfu",
				SelectedPair: &reports.CandidatePair{Local: "host", Remote: "host", Protocol: "udp", LocalAddress: "10.0.1.2:50000", RemoteAddress: "10.0.0.10:3478"}},
			{Name: "bob", NAT: "symmetric", Address: "192.168.7.20", Connected: false, ConnectedFraction: 0.6, Dropped: &reports.Drop{AtS: 18.4, Reason: "PeerConnection disconnected"}, TimeToConnectMS: ptr(655.4), Peer: "sfu",
				SelectedPair: &reports.CandidatePair{Local: "relay", Remote: "host", Protocol: "udp", LocalAddress: "203.0.113.5:49152", RemoteAddress: "10.0.0.10:3478"}},
			{Name: "carol", NAT: "port-restricted-cone", Address: "192.168.9.3", Connected: false, Peer: "sfu"},
		},
		Streams: []reports.Stream{
			{From: "alice", To: "bob", Kind: "video", Codec: "video/VP8", PacketsSent: 3000, PacketsReceived: 2871, PacketsExpected: 3000, PacketsLost: 129,
				LossFraction: 0.043, RawLossFraction: 0.0617, JitterMS: 3.25, RTTMS: ptr(48.1), BitrateKbps: 1203.4, NACKCount: 97, PLICount: 2},
			{From: "alice", To: "bob", Kind: "audio", Codec: "audio/opus", PacketsSent: 1500, PacketsReceived: 1500, PacketsExpected: 1500,
				LossFraction: 0, JitterMS: 1.5, RTTMS: ptr(48.1), BitrateKbps: 32},
			{From: "bob", To: "alice", Kind: "video", Codec: "video/VP8", PacketsSent: 2990, PacketsReceived: 2990, PacketsExpected: 2990,
				LossFraction: 0, RawLossFraction: 0.002, JitterMS: 2.75, BitrateKbps: 998.7},
		},
		Checks: []analysis.Check{
			analysis.Evaluate("alice connected", 1, bound(ptr(1), ptr(1))),
			analysis.Evaluate("bob loss_fraction (alice->bob video)", 0.043, bound(ptr(0.01), ptr(0.06))),
			analysis.Evaluate("bob time_to_connect_ms", 655.4, bound(nil, ptr(3000))),
			analysis.Evaluate("carol connected", 0, bound(ptr(1), ptr(1))),
			analysis.Evaluate("alice rtt_ms (bob->alice video)", math.NaN(), bound(nil, ptr(300))),
		},
		Series: []analysis.Series{
			wave("alice->bob video", "bitrate_kbps", "kbps", 1200, 150, 0),
			wave("alice->bob audio", "bitrate_kbps", "kbps", 32, 2, 1),
			wave("bob->alice video", "bitrate_kbps", "kbps", 1000, 120, 2),
			wave("alice->bob video", "loss_fraction", "fraction", 0.04, 0.02, 3),
			wave("bob->alice video", "loss_fraction", "fraction", 0, 0, 0),
			wave("alice->bob video", "rtt_ms", "ms", 48, 6, 4),
			{Name: "bob->alice video", Metric: "rtt_ms", Unit: "ms", Points: []analysis.Point{{T: 12, V: 51}}},
			wave("alice->bob video", "jitter_ms", "ms", 3, 1, 5),
		},
		Events: []analysis.Event{
			{T: 0, Source: "runner", Kind: "start", Detail: "scenario quickstart, seed 42"},
			{T: 0.212, Source: "alice", Kind: "connected", Detail: "host -> host (udp)"},
			{T: 0.6554, Source: "bob", Kind: "connected", Detail: "relay -> host (udp)"},
			{T: 10, Source: "bob", Kind: "pli", Detail: "keyframe requested for alice video"},
			{T: 15.5, Source: "carol", Kind: "ice-state", Detail: "failed: no candidate pair <succeeded>"},
			{T: 30, Source: "runner", Kind: "stop"},
		},
	}
}

func bound(lo, hi *float64) analysis.Bound { return analysis.Bound{Min: lo, Max: hi} }

// wave is a series over 30 s at 100 ms: mid plus a triangle wave of height
// amp, shifted by phase; built from integer steps so it is exact. Samples
// 150..159 are NaN (a gap) when phase is 0.
func wave(name, metric, unit string, mid, amp float64, phase int) analysis.Series {
	s := analysis.Series{Name: name, Metric: metric, Unit: unit}
	for i := range 300 {
		step := (i + phase*7) % 40
		if step > 20 {
			step = 40 - step
		}
		v := mid + amp*(float64(step)/10-1)
		if phase == 0 && amp != 0 && i >= 150 && i < 160 {
			v = math.NaN()
		}
		s.Points = append(s.Points, analysis.Point{T: float64(i) / 10, V: v})
	}
	return s
}
