package compare

import (
	"fmt"

	"github.com/rtclab/rtclab/reports"
)

// Kind says how a metric is counted, and so how noisy it is between runs
// that do not replay the same packet fates.
type Kind int

const (
	// Fraction is a share of n packets: binomial noise.
	Fraction Kind = iota
	// Count is a number of events: Poisson noise.
	Count
	// Continuous is a time, rate or score: a relative band with a floor.
	Continuous
	// Flag is 0 or 1 (connected, a check's pass): any change is real.
	Flag
)

// Better is the direction in which a metric improves.
type Better int

const (
	Neither Better = iota // a change is reported, never worse
	Lower
	Higher
)

// Quantity is one number of a report, named by what it measures.
type Quantity struct {
	// Subject is who it is about: "bob", "alice->bob video", "check
	// loss_fraction alice->bob audio", "flow video-1".
	Subject string
	// Metric is the report's field name (e.g. "loss_fraction").
	Metric string
	// Unit is how it is printed: "%", "ms", "kbit/s", "fps", "" (a count
	// or score).
	Unit string
	// Value is the number; nil when the report did not measure it.
	Value *float64
	// N is, for a Fraction, the number of packets it is a share of.
	N      float64
	Kind   Kind
	Better Better
	// Floor is the smallest band of a Continuous quantity, in its own
	// unit (e.g. 2 for ms).
	Floor float64
}

// Key identifies a quantity within one scenario.
func (q Quantity) Key() string { return q.Subject + "\x00" + q.Metric }

func f(v float64) *float64 { return &v }

func fOpt(v *float64) *float64 {
	if v == nil {
		return nil
	}
	return f(*v)
}

func b01(b bool) *float64 {
	if b {
		return f(1)
	}
	return f(0)
}

// Quantities lists every number of r that compare weighs, in report
// order: participants, streams (with what the viewer and listener got),
// RFC 8868 links and flows, and each check's verdict.
func Quantities(r *reports.Report) []Quantity {
	var qs []Quantity
	for _, p := range r.Participants {
		qs = append(qs,
			Quantity{Subject: p.Name, Metric: "connected", Value: b01(p.Connected), Kind: Flag, Better: Higher},
			Quantity{Subject: p.Name, Metric: "connected_fraction", Unit: "%", Value: f(p.ConnectedFraction), Kind: Continuous, Better: Higher, Floor: 0.01},
			Quantity{Subject: p.Name, Metric: "time_to_connect_ms", Unit: "ms", Value: fOpt(p.TimeToConnectMS), Kind: Continuous, Better: Lower, Floor: 20},
			Quantity{Subject: p.Name, Metric: "relayed", Value: b01(p.SelectedPair != nil && (p.SelectedPair.Local == "relay" || p.SelectedPair.Remote == "relay")), Kind: Flag, Better: Neither},
		)
	}
	seen := map[string]int{}
	for _, s := range r.Streams {
		subj := fmt.Sprintf("%s->%s %s", s.From, s.To, s.Kind)
		if seen[subj]++; seen[subj] > 1 {
			subj = fmt.Sprintf("%s #%d", subj, seen[subj])
		}
		n := float64(s.PacketsExpected)
		qs = append(qs,
			Quantity{Subject: subj, Metric: "packets_received", Value: f(float64(s.PacketsReceived)), Kind: Count, Better: Higher},
			Quantity{Subject: subj, Metric: "loss_fraction", Unit: "%", Value: f(s.LossFraction), N: n, Kind: Fraction, Better: Lower},
			Quantity{Subject: subj, Metric: "raw_loss_fraction", Unit: "%", Value: f(s.RawLossFraction), N: n, Kind: Fraction, Better: Lower},
			Quantity{Subject: subj, Metric: "jitter_ms", Unit: "ms", Value: f(s.JitterMS), Kind: Continuous, Better: Lower, Floor: 1},
			Quantity{Subject: subj, Metric: "rtt_ms", Unit: "ms", Value: fOpt(s.RTTMS), Kind: Continuous, Better: Lower, Floor: 2},
			Quantity{Subject: subj, Metric: "bitrate_kbps", Unit: "kbit/s", Value: f(s.BitrateKbps), Kind: Continuous, Better: Higher, Floor: 10},
			Quantity{Subject: subj, Metric: "nack_count", Value: f(float64(s.NACKCount)), Kind: Count, Better: Lower},
			Quantity{Subject: subj, Metric: "pli_count", Value: f(float64(s.PLICount)), Kind: Count, Better: Lower},
		)
		if v := s.Video; v != nil {
			qs = append(qs,
				Quantity{Subject: subj, Metric: "frames_shown", Value: f(float64(v.FramesShown)), Kind: Count, Better: Higher},
				Quantity{Subject: subj, Metric: "fps", Unit: "fps", Value: f(v.FPS), Kind: Continuous, Better: Higher, Floor: 1},
				Quantity{Subject: subj, Metric: "freeze_count", Value: f(float64(v.FreezeCount)), Kind: Count, Better: Lower},
				Quantity{Subject: subj, Metric: "freeze_ms", Unit: "ms", Value: f(v.FreezeMS), Kind: Continuous, Better: Lower, Floor: 100},
				Quantity{Subject: subj, Metric: "time_to_first_frame_ms", Unit: "ms", Value: fOpt(v.TimeToFirstFrameMS), Kind: Continuous, Better: Lower, Floor: 50},
				Quantity{Subject: subj, Metric: "keyframe_latency_ms", Unit: "ms", Value: fOpt(v.KeyframeLatencyMS), Kind: Continuous, Better: Lower, Floor: 50},
				Quantity{Subject: subj, Metric: "packets_repaired", Value: f(float64(v.PacketsRepaired)), Kind: Count, Better: Neither},
				Quantity{Subject: subj, Metric: "psnr_db", Unit: "dB", Value: fOpt(v.PSNRDB), Kind: Continuous, Better: Higher, Floor: 0.5},
			)
		}
		if a := s.Audio; a != nil {
			qs = append(qs,
				Quantity{Subject: subj, Metric: "concealment_events", Value: f(float64(a.ConcealmentEvents)), Kind: Count, Better: Lower},
				Quantity{Subject: subj, Metric: "mouth_to_ear_ms", Unit: "ms", Value: f(a.MouthToEarMS), Kind: Continuous, Better: Lower, Floor: 5},
				Quantity{Subject: subj, Metric: "mos", Value: f(a.MOS), Kind: Continuous, Better: Higher, Floor: 0.1},
			)
		}
	}
	if bw := r.Bandwidth; bw != nil {
		for _, l := range bw.Links {
			subj := "link " + l.Name
			qs = append(qs,
				Quantity{Subject: subj, Metric: "utilization", Unit: "%", Value: fOpt(l.Utilization), Kind: Continuous, Better: Higher, Floor: 0.02},
				Quantity{Subject: subj, Metric: "fairness_5s", Value: fOpt(l.Fairness5s), Kind: Continuous, Better: Higher, Floor: 0.05},
			)
		}
		for _, fl := range bw.Flows {
			subj := "flow " + fl.Name
			qs = append(qs,
				Quantity{Subject: subj, Metric: "rate_kbps", Unit: "kbit/s", Value: f(fl.RateKbps), Kind: Continuous, Better: Higher, Floor: 10},
				Quantity{Subject: subj, Metric: "queue_delay_p95_ms", Unit: "ms", Value: fOpt(fl.QueueDelayP95MS), Kind: Continuous, Better: Lower, Floor: 5},
				Quantity{Subject: subj, Metric: "residual_loss_fraction", Unit: "%", Value: fOpt(fl.ResidualLossFraction), N: float64(fl.PacketsSent), Kind: Fraction, Better: Lower},
			)
		}
	}
	for _, c := range r.Checks {
		// A check passes (1) or fails (0); a known failure is neither
		// better nor worse than it was declared to be.
		var v *float64
		switch c.Verdict {
		case "pass", "known-failure":
			v = f(1)
		case "fail", "passed-unexpectedly":
			v = f(0)
		}
		qs = append(qs, Quantity{Subject: "check " + c.Name, Metric: "verdict", Value: v, Kind: Flag, Better: Higher})
	}
	return qs
}
