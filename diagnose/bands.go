package diagnose

import "fmt"

// Level grades a metric, a finding or the whole verdict.
type Level string

// Levels, from best to worst. Info is a finding that grades nothing.
const (
	Info Level = "info"
	Good Level = "good"
	Warn Level = "warn"
	Bad  Level = "bad"
)

func (l Level) rank() int {
	switch l {
	case Good:
		return 1
	case Warn:
		return 2
	case Bad:
		return 3
	}
	return 0
}

// Worse returns the worse of two levels.
func Worse(a, b Level) Level {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Threshold splits a metric's values into three bands with no gap: for a
// metric where lower is better, a value below Good is good, above Bad is
// bad, and anything from Good to Bad inclusive is warn (the other way round
// when HigherIsBetter). A value equal to a threshold is therefore warn,
// which matches the sources' wording ("good < 200 ms", "bad > 500 ms").
type Threshold struct {
	// Metric is the metric's key in Result.Metrics.
	Metric string `json:"metric"`
	// Unit of Good, Bad and the value.
	Unit string `json:"unit"`
	// Good and Bad are the band edges.
	Good float64 `json:"good"`
	Bad  float64 `json:"bad"`
	// HigherIsBetter flips the comparison.
	HigherIsBetter bool `json:"higher_is_better"`
	// Source says where the numbers come from.
	Source string `json:"source"`
}

// Classify puts v in its band.
func (t Threshold) Classify(v float64) Level {
	if t.HigherIsBetter {
		switch {
		case v > t.Good:
			return Good
		case v < t.Bad:
			return Bad
		}
		return Warn
	}
	switch {
	case v < t.Good:
		return Good
	case v > t.Bad:
		return Bad
	}
	return Warn
}

// Describe is the band rule in words: "good < 200 ms, bad > 500 ms".
func (t Threshold) Describe() string {
	unit := ""
	if t.Unit != "" {
		unit = " " + t.Unit
	}
	if t.HigherIsBetter {
		return fmt.Sprintf("good > %g%s, bad < %g%s", t.Good, unit, t.Bad, unit)
	}
	return fmt.Sprintf("good < %g%s, bad > %g%s", t.Good, unit, t.Bad, unit)
}

// Metric keys.
const (
	MetricRTT      = "rtt"
	MetricJitter   = "jitter"
	MetricLoss     = "loss"
	MetricUpload   = "upload"
	MetricDownload = "download"
	MetricMOS      = "mos"
)

// Thresholds are the bands rtclab grades with, with their sources. They
// are documented in docs/diagnose.md; keep the two in step.
var Thresholds = []Threshold{
	{
		Metric: MetricRTT, Unit: "ms", Good: 200, Bad: 500,
		Source: "testRTC qualityRTC network test: RTT good below 200 ms, bad above 500 ms (Twilio's Voice Insights warns at 400 ms, inside the warn band)",
	},
	{
		Metric: MetricJitter, Unit: "ms", Good: 30, Bad: 50,
		Source: "good: Twilio Voice Insights' 30 ms jitter threshold; bad: rtclab's choice (above 50 ms a jitter buffer adds over 100 ms of delay), no published source",
	},
	{
		Metric: MetricLoss, Unit: "%", Good: 1, Bad: 4,
		Source: "testRTC qualityRTC: packet loss good below 1 %, bad above 4 % (Twilio Voice Insights: 1 %)",
	},
	{
		Metric: MetricUpload, Unit: "kbps", Good: 800, Bad: 500, HigherIsBetter: true,
		Source: "testRTC qualityRTC bandwidth test: good above 800 kbps, bad below 500 kbps",
	},
	{
		Metric: MetricDownload, Unit: "kbps", Good: 800, Bad: 500, HigherIsBetter: true,
		Source: "testRTC qualityRTC bandwidth test: good above 800 kbps, bad below 500 kbps",
	},
	{
		Metric: MetricMOS, Unit: "", Good: 3.6, Bad: 3.0, HigherIsBetter: true,
		Source: "good: ITU-T G.109 speech quality class 'medium' or better (R > 70, MOS 3.6); bad: Twilio Voice Insights' low-MOS threshold 3.0",
	},
}

// threshold returns the threshold of a metric key.
func threshold(metric string) (Threshold, bool) {
	for _, t := range Thresholds {
		if t.Metric == metric {
			return t, true
		}
	}
	return Threshold{}, false
}
