package analysis

import (
	"fmt"
	"slices"
	"strings"
)

// Scope says what a metric measures one value of.
type Scope string

// Scopes of metrics.
const (
	// ScopeParticipant metrics have one value per participant.
	ScopeParticipant Scope = "participant"
	// ScopeStream metrics have one value per received stream
	// (publisher → receiver, audio or video).
	ScopeStream Scope = "stream"
	// ScopeFlow and ScopeLink metrics belong to the flows topology (RFC
	// 8868): one value per flow, or per bottleneck link.
	ScopeFlow Scope = "flow"
	ScopeLink Scope = "link"
)

// Kind is the media a stream metric exists for.
type Kind string

// Kinds of media.
const (
	KindAny   Kind = "any"
	KindAudio Kind = "audio"
	KindVideo Kind = "video"
)

// Metric is one row of the metric table: everything a check, a report, a
// validator or a help page needs to know of a metric.
type Metric struct {
	// Name is what a scenario's expect entry names.
	Name string
	// Scope is what it has one value per.
	Scope Scope
	// Kind is the media it exists for (stream metrics; KindAny otherwise).
	Kind Kind
	// Simulcast marks a metric that exists only for a simulcast stream.
	Simulcast bool
	// Unit of its value.
	Unit string
	// Meaning is a one-line description.
	Meaning string
	// Computation says how the value is computed, and from what.
	Computation string
}

// Metrics is the one table of the metrics a scenario may check: the call
// metrics (participant and stream scope) and the RFC 8868 metrics of the
// flows topology (flow and link scope). A name may appear once per family
// (call or flows).
var Metrics = []Metric{
	{"connected", ScopeParticipant, KindAny, false, "0/1", "1 when its PeerConnection reached connected and stayed connected to the end of the scenario, else 0", "pion's connection state changes and the SFU's peer events over the whole call"},
	{"connected_fraction", ScopeParticipant, KindAny, false, "fraction", "share of the scenario's duration it was connected (0..1)", "time in connected: from connected to the next connecting (an ICE restart), disconnected, failed or closed (or the SFU removing it), over the scenario's duration"},
	{"time_to_connect_ms", ScopeParticipant, KindAny, false, "ms", "joining the room to connected", "time of the connected state change minus the join time"},
	{"relayed", ScopeParticipant, KindAny, false, "0/1", "1 when its selected candidate pair uses a TURN relay", "candidate types of the ICE selected pair"},
	{"addresses_exposed", ScopeParticipant, KindAny, false, "addresses", "distinct addresses of its own (not the relay's; a .local mDNS name is no address) another participant saw; 0 with relay_only in a p2p call", "ICE candidates the signaling server relayed to the others plus source addresses of packets reaching their hosts (report's privacy section)"},

	{"loss_fraction", ScopeStream, KindAny, false, "fraction", "media packets never received, after NACK/RTX repair, until the end of the call", "packets_lost / packets_expected from the arrival log against the last sender's send log (Receive)"},
	{"raw_loss_fraction", ScopeStream, KindAny, false, "fraction", "media packets that did not arrive as originals (before repair)", "(packets_lost + repaired) / packets_expected"},
	{"packets_received", ScopeStream, KindAny, false, "packets", "distinct media packets received (repairs included; duplicates and padding not)", "arrival log (Receive)"},
	{"jitter_ms", ScopeStream, KindAny, false, "ms", "RFC 3550 interarrival jitter at the receiver", "RFC 3550 section 6.4.1 / A.8 over the original media packets of the arrival log (Jitter)"},
	{"rtt_ms", ScopeStream, KindAny, false, "ms", "round-trip time of the receiver's hop", "mean of the latest RTCP receiver-report round trip, sampled every 100 ms of the call (a value stands until the next report, through an outage too; STUN consent checks without RTCP)"},
	{"bitrate_kbps", ScopeStream, KindAny, false, "kbit/s", "mean received media bitrate", "payload bytes of distinct media packets over first data to the end of the call"},
	{"nack_count", ScopeStream, KindAny, false, "packets", "NACK packets the receiver sent", "pion's stats interceptor"},
	{"pli_count", ScopeStream, KindAny, false, "packets", "PLI packets the receiver sent", "pion's stats interceptor"},
	{"packets_repaired", ScopeStream, KindVideo, false, "packets", "media packets received only by retransmission", "arrival log: RTX packets whose sequence number had not arrived (Receive)"},
	{"frames_received", ScopeStream, KindVideo, false, "frames", "video frames shown (decodable) at the receiver", "frames reassembled from the arrival order, decodable after the last keyframe"},
	{"fps", ScopeStream, KindVideo, false, "frames/s", "frames shown over the time the stream should have played", "shown frames / (end of call − first packet on the wire) (AnalyzePlayback)"},
	{"freeze_count", ScopeStream, KindVideo, false, "freezes", "video freezes, a picture frozen until the end or before its first frame included", "gaps ≥ max(3 × mean, mean + 150 ms) of the last 30 gaps (before 5 gaps: the sender's frame interval), the last frame to the end of the call and the first packet's arrival to the first frame gaps too (AnalyzePlayback)"},
	{"freeze_ms", ScopeStream, KindVideo, false, "ms", "total video freeze time", "sum of the freezes' gaps (AnalyzePlayback)"},
	{"time_to_first_frame_ms", ScopeStream, KindVideo, false, "ms", "both ends joined to the first shown frame", "time of the first decodable frame minus the later join"},
	{"keyframe_latency_ms", ScopeStream, KindVideo, false, "ms", "longest time from a PLI to the next shown keyframe", "receiver's PLI times against its frame log"},
	{"recovery_ms", ScopeStream, KindAny, false, "ms", "worst time to recover from the scenario's timeline faults: fault to the first media packet after the interruption it caused (absent, failing the check, when media never came back)", "Recover over the arrival log of every incarnation of the stream, per fault that affects it; the maximum"},
	{"layer", ScopeStream, KindVideo, true, "layer", "simulcast layer received at `at` (default the end), 0 = lowest", "the SFU's layer switches"},
	{"layer_min", ScopeStream, KindVideo, true, "layer", "lowest simulcast layer received after the layer first went up (from the start when it started on the top layer)", "the SFU's layer switches"},
	{"layer_switches", ScopeStream, KindVideo, true, "switches", "simulcast layer changes after the first layer", "the SFU's layer switches"},
	{"mos", ScopeStream, KindAudio, false, "1..4.5", "audio E-model MOS (ITU-T G.107)", "EstimateMOS with the measured publisher→listener delay, 2 × jitter, codec delay, loss and burst ratio"},
	{"negotiated", ScopeStream, KindAny, false, "0/1", "1 when the SFU could give the receiver the publisher's codec; one check per track offered", "the SFU's negotiations"},

	{"utilization", ScopeLink, KindAny, false, "fraction", "media sending rate over bottleneck capacity; not with TCP on the link", "RFC 8868 section 3 item 10: Σ media sending rate on the wire (IP bytes offered to the link: RTP, SRTP, UDP and IP headers, RTCP; CBR cross traffic left out) ÷ Σ capacity (IP bytes too) over samples with an active media flow"},
	{"fairness_1s", ScopeLink, KindAny, false, "0..1", "mean min/max throughput ratio of concurrent GCC flows, 1 s windows in static periods", "RFC 8868 section 3 item 7"},
	{"fairness_5s", ScopeLink, KindAny, false, "0..1", "the same over 5 s windows", "RFC 8868 section 3 item 7"},
	{"fairness_20s", ScopeLink, KindAny, false, "0..1", "the same over 20 s windows", "RFC 8868 section 3 item 7"},
	{"rate_kbps", ScopeFlow, KindAny, false, "kbit/s", "mean sending rate while active (tcp: RFC 8867 section 5.6 TCP throughput)", "RTP header + payload bytes over active time"},
	{"feedback_kbps", ScopeFlow, KindAny, false, "kbit/s", "RTCP feedback (TWCC, NACK) the receiver sent, while active", "RFC 8867 section 4.1 item 1.D"},
	{"packets_sent", ScopeFlow, KindAny, false, "packets", "packets sent, retransmissions included", "RFC 8868 section 3 item 2, from the flow's send log"},
	{"packets_received", ScopeFlow, KindAny, false, "packets", "packets received, duplicates excluded", "RFC 8868 section 3 item 2, from the flow's arrival log"},
	{"ramp_up_s", ScopeFlow, KindAny, false, "s", "from the flow's start until its rate is within 20% of its share", "1 s sending rate on the wire against the share, both in IP packet bytes"},
	{"convergence_s", ScopeFlow, KindAny, false, "s", "longest time after a change until its rate is within 20% of its share", "RFC 8868 section 3 item 8: 1 s sending rate on the wire against the share, both in IP packet bytes"},
	{"oscillation", ScopeFlow, KindAny, false, "ratio", "coefficient of variation of the 1 s rate, 5 s or more after any change (tcp: of its 1 s sending rate over its whole time)", "magnitude, RFC 8867 section 4.1 item 1.B; tcp: section 5.7 item 1.A"},
	{"oscillations", ScopeFlow, KindAny, false, "swings", "swings of the 200 ms rate between 1/2 and 2 times the share within 500 ms", "RFC 8868 section 3 item 9"},
	{"queue_delay_p50_ms", ScopeFlow, KindAny, false, "ms", "median queueing delay of its packets", "one-way delay − propagation − serialisation"},
	{"queue_delay_p95_ms", ScopeFlow, KindAny, false, "ms", "95th percentile queueing delay", "one-way delay − propagation − serialisation"},
	{"loss_fraction", ScopeFlow, KindAny, false, "fraction", "packets lost on their first transmission (tcp: segments sent that did not arrive)", "send and arrival logs of the flow"},
	{"residual_loss_fraction", ScopeFlow, KindAny, false, "fraction", "packets never received, after NACK repair", "send and arrival logs of the flow"},
	{"estimate_overshoot", ScopeFlow, KindAny, false, "ratio", "95th percentile of the bandwidth estimate over its share", "GCC estimate samples ÷ uncapped share"},
	{"rate_vs_reference", ScopeFlow, KindAny, false, "ratio", "its mean sending rate over that of the flow of the same name in the scenario's reference run", "RFC 8867 section 5.3's comparison with the reference case: rate_kbps ÷ the reference's rate_kbps"},
	{"queue_delay_p95_vs_reference_ms", ScopeFlow, KindAny, false, "ms", "its 95th percentile queueing delay less that of the flow of the same name in the reference run", "RFC 8867 section 5.3: queue_delay_p95_ms − the reference's"},
}

// flowsScope reports whether s belongs to the flows topology.
func flowsScope(s Scope) bool { return s == ScopeFlow || s == ScopeLink }

// LookupMetric returns the row of name for a flows scenario (flows true)
// or a call scenario.
func LookupMetric(name string, flows bool) (Metric, bool) {
	for _, m := range Metrics {
		if m.Name == name && flowsScope(m.Scope) == flows {
			return m, true
		}
	}
	return Metric{}, false
}

// MetricNames lists the metric names of one family, sorted.
func MetricNames(flows bool) []string {
	var out []string
	for _, m := range Metrics {
		if flowsScope(m.Scope) == flows {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out
}

// ExistsFor reports whether a stream metric exists for a stream of kind
// ("audio", "video"); every other metric exists everywhere.
func (m Metric) ExistsFor(kind string) bool {
	return m.Kind == KindAny || string(m.Kind) == kind
}

// MetricTable renders one family's rows as a Markdown table (metric, per,
// kind, unit, meaning, computation), for the README.
func MetricTable(flows bool) string {
	var b strings.Builder
	b.WriteString("| metric | per | kind | unit | meaning | computed |\n|---|---|---|---|---|---|\n")
	for _, m := range Metrics {
		if flowsScope(m.Scope) != flows {
			continue
		}
		kind := string(m.Kind)
		if m.Simulcast {
			kind += ", simulcast"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", m.Name, m.Scope, kind, m.Unit, m.Meaning, m.Computation)
	}
	return b.String()
}
