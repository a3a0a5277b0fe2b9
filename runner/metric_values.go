package runner

import (
	"math"

	"github.com/rtclab/rtclab/reports"
)

// The value of each metric of analysis.Metrics for a check, read from the
// report: one entry per metric (TestMetricTableHasValues keeps the table
// and these in step). "layer" (at a time) and "negotiated" (one value per
// negotiation) have their own evaluation in checks. NaN means not
// measured, which fails the check.

// participantValues are the participant metrics.
var participantValues = map[string]func(reports.Participant) float64{
	"connected":          func(p reports.Participant) float64 { return boolValue(p.Connected) },
	"connected_fraction": func(p reports.Participant) float64 { return p.ConnectedFraction },
	"time_to_connect_ms": func(p reports.Participant) float64 {
		return ptrOr(p.TimeToConnectMS, math.NaN())
	},
	"relayed": func(p reports.Participant) float64 {
		if p.SelectedPair == nil {
			return math.NaN()
		}
		return boolValue(p.SelectedPair.Local == "relay" || p.SelectedPair.Remote == "relay")
	},
	"addresses_exposed": func(p reports.Participant) float64 {
		if p.AddressesExposed == nil {
			return math.NaN()
		}
		return float64(*p.AddressesExposed)
	},
}

// streamValues are the stream metrics.
var streamValues = map[string]func(reports.Stream) float64{
	"loss_fraction":     func(s reports.Stream) float64 { return ifExpected(s, s.LossFraction) },
	"raw_loss_fraction": func(s reports.Stream) float64 { return ifExpected(s, s.RawLossFraction) },
	"jitter_ms":         func(s reports.Stream) float64 { return s.JitterMS },
	"rtt_ms":            func(s reports.Stream) float64 { return ptrOr(s.RTTMS, math.NaN()) },
	"bitrate_kbps":      func(s reports.Stream) float64 { return s.BitrateKbps },
	"packets_received":  func(s reports.Stream) float64 { return float64(s.PacketsReceived) },
	"nack_count":        func(s reports.Stream) float64 { return float64(s.NACKCount) },
	"pli_count":         func(s reports.Stream) float64 { return float64(s.PLICount) },
	"recovery_ms":       func(s reports.Stream) float64 { return ptrOr(s.RecoveryMS, math.NaN()) },

	"frames_received":        video(func(v *reports.VideoStream) float64 { return float64(v.FramesShown) }),
	"fps":                    video(func(v *reports.VideoStream) float64 { return v.FPS }),
	"freeze_count":           video(func(v *reports.VideoStream) float64 { return float64(v.FreezeCount) }),
	"freeze_ms":              video(func(v *reports.VideoStream) float64 { return v.FreezeMS }),
	"time_to_first_frame_ms": video(func(v *reports.VideoStream) float64 { return ptrOr(v.TimeToFirstFrameMS, math.NaN()) }),
	"keyframe_latency_ms":    video(func(v *reports.VideoStream) float64 { return ptrOr(v.KeyframeLatencyMS, math.NaN()) }),
	"packets_repaired":       video(func(v *reports.VideoStream) float64 { return float64(v.PacketsRepaired) }),
	"layer_switches":         video(func(v *reports.VideoStream) float64 { return float64(max(len(v.LayerSwitches)-1, 0)) }),
	"layer_min":              video(layerMin),

	"mos": func(s reports.Stream) float64 {
		if s.Audio == nil {
			return math.NaN()
		}
		return s.Audio.MOS
	},
}

// participantValue is metric's value for p; NaN when unknown.
func participantValue(p reports.Participant, metric string) float64 {
	if f := participantValues[metric]; f != nil {
		return f(p)
	}
	return math.NaN()
}

// streamValue is metric's value for s; NaN when unknown.
func streamValue(s reports.Stream, metric string) float64 {
	if f := streamValues[metric]; f != nil {
		return f(s)
	}
	return math.NaN()
}

// video reads a video metric; NaN for a stream without video measurements.
func video(f func(*reports.VideoStream) float64) func(reports.Stream) float64 {
	return func(s reports.Stream) float64 {
		if s.Video == nil {
			return math.NaN()
		}
		return f(s.Video)
	}
}

// ifExpected is v, or NaN for a stream that expected no packet.
func ifExpected(s reports.Stream, v float64) float64 {
	if s.PacketsExpected == 0 {
		return math.NaN()
	}
	return v
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func ptrOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}
