package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/netem"
)

// Metrics a scenario's expect entries may check, with what they measure.
var Metrics = map[string]string{
	"connected":          "participant: 1 when its PeerConnection connected and stayed connected to the end, else 0",
	"connected_fraction": "participant: share of the scenario's duration it was connected (0..1)",
	"time_to_connect_ms": "participant: ms from joining to connected",
	"relayed":            "participant: 1 when its selected pair uses a TURN relay, else 0",
	"loss_fraction":      "stream: fraction of packets lost after repair, 0..1",
	"jitter_ms":          "stream: interarrival jitter at the receiver, ms",
	"rtt_ms":             "stream: round-trip time of the receiver's hop, ms",
	"bitrate_kbps":       "stream: mean received bitrate, kbit/s",
	"packets_received":   "stream: RTP packets received",
	"nack_count":         "stream: NACK packets the receiver sent",
	"pli_count":          "stream: PLI packets the receiver sent",

	"frames_received":        "stream: video frames shown (decodable) at the receiver",
	"fps":                    "stream: mean video frames shown per second",
	"freeze_count":           "stream: video freezes (libwebrtc's definition)",
	"freeze_ms":              "stream: total video freeze time, ms",
	"time_to_first_frame_ms": "stream: ms from both ends joined to the first shown video frame",
	"keyframe_latency_ms":    "stream: longest ms from a keyframe request to the next shown keyframe",
	"packets_repaired":       "stream: packets lost on the wire and recovered by retransmission",
	"layer_switches":         "stream: simulcast layer changes after the first layer",
	"layer":                  "stream: simulcast layer received at time `at` (default the end), 0 = lowest",
	"raw_loss_fraction":      "stream: fraction of packets lost on the wire, before repair, 0..1",
	"layer_min":              "stream: lowest simulcast layer received after the first switch up, 0 = lowest",
	"mos":                    "stream: audio E-model MOS (ITU-T G.107), 1..4.5",
	"negotiated":             "stream: 1 when the SFU could give the receiver the publisher's codec, else 0",
}

// participantMetric reports whether m is measured per participant.
func participantMetric(m string) bool {
	return strings.HasPrefix(Metrics[m], "participant:")
}

func metricNames() string {
	names := make([]string, 0, len(Metrics))
	for m := range Metrics {
		names = append(names, m)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Limits of the scenario language.
const (
	maxDuration     = time.Hour
	maxDelay        = 10 * time.Second
	maxParticipants = 50
)

// validate checks everything Decode could not and fills defaults. It
// returns every problem found.
func (s *Scenario) validate(root *yaml.Node) []error {
	var errs []error
	bad := func(msg string, path ...any) {
		errs = append(errs, &Error{File: s.File, Line: lineOf(root, path...), Field: fieldPath(path), Msg: msg})
	}
	if s.Name == "" {
		bad("is required: a short name for reports", "name")
	}
	switch s.Topology {
	case "":
		s.Topology = "sfu"
	case "sfu", "p2p", TopologyFlows:
	default:
		bad(fmt.Sprintf("unknown topology %q (allowed: sfu, p2p, flows)", s.Topology), "topology")
	}
	switch {
	case s.Duration.Duration == 0:
		bad("is required and must be positive, e.g. 30s", "duration")
	case s.Duration.Duration < 0 || s.Duration.Duration > maxDuration:
		bad(fmt.Sprintf("%v is outside 1ms..%v", s.Duration.Duration, maxDuration), "duration")
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	if s.ICE.RelayOnly && !s.UseTURN() {
		bad("relay_only needs turn: true (a relay needs a TURN server)", "ice", "relay_only")
	}

	names := map[string]bool{}
	switch n := len(s.Participants); {
	case n == 0:
		bad("at least one participant is required", "participants")
	case n > maxParticipants:
		bad(fmt.Sprintf("%d participants; at most %d", n, maxParticipants), "participants")
	case s.Topology == "p2p" && n != 2:
		bad(fmt.Sprintf("the p2p topology takes exactly 2 participants, not %d", n), "participants")
	}
	for i := range s.Participants {
		p := &s.Participants[i]
		at := func(rest ...any) []any { return append([]any{"participants", i}, rest...) }
		switch {
		case !nameRE.MatchString(p.Name):
			bad(fmt.Sprintf("name %q: use 1-32 lower-case letters, digits and '-', starting with a letter", p.Name), at("name")...)
		case p.Name == "sfu":
			bad(`"sfu" is the SFU's own name; pick another`, at("name")...)
		case names[p.Name]:
			bad(fmt.Sprintf("name %q is used twice", p.Name), at("name")...)
		}
		names[p.Name] = true
		lc := linkCtx{s: s, bad: bad, path: at()}
		p.host = netem.HostConfig{Name: p.Name}
		p.resolveNAT(lc, &p.host)
		for j, m := range p.Publish {
			if m != "audio" && m != "video" {
				bad(fmt.Sprintf("unknown media %q (allowed: audio, video)", m), at("publish", j)...)
			}
		}
		if hasDup(p.Publish) {
			bad("lists the same media twice", at("publish")...)
		}
		errs = append(errs, s.validateMedia(root, i)...)
		var up, down []scheduled
		p.host.Uplink, up = p.Uplink.resolve(linkCtx{s: s, bad: bad, path: at("uplink")}, netem.Uplink)
		p.host.Downlink, down = p.Downlink.resolve(linkCtx{s: s, bad: bad, path: at("downlink")}, netem.Downlink)
		p.schedule = append(up, down...)
	}

	if s.Topology == TopologyFlows {
		return append(errs, s.validateFlows(root, names)...)
	}
	if len(s.Flows) > 0 {
		bad("flows belong to the flows topology (topology: flows)", "flows")
	}
	for i := range s.Expect {
		e := &s.Expect[i]
		at := func(rest ...any) []any { return append([]any{"expect", i}, rest...) }
		e.validateCriterion(bad, at)
		if _, ok := Metrics[e.Metric]; !ok {
			bad(fmt.Sprintf("unknown metric %q (allowed: %s)", e.Metric, metricNames()), at("metric")...)
			continue
		}
		if e.Min == nil && e.Max == nil {
			bad("needs min, max or both", at()...)
		}
		if e.Min != nil && e.Max != nil && e.Min.Value > e.Max.Value {
			bad(fmt.Sprintf("min %g is above max %g", e.Min.Value, e.Max.Value), at("min")...)
		}
		for _, sel := range []struct{ key, v string }{{"participant", e.Participant}, {"from", e.From}, {"to", e.To}} {
			if sel.v != "" && !names[sel.v] {
				bad(fmt.Sprintf("no participant named %q", sel.v), at(sel.key)...)
			}
		}
		if participantMetric(e.Metric) && (e.From != "" || e.To != "" || e.Kind != "") {
			bad(fmt.Sprintf("%s is a participant metric: narrow it with participant, not from/to/kind", e.Metric), at("metric")...)
		}
		if !participantMetric(e.Metric) && e.Participant != "" {
			bad(fmt.Sprintf("%s is a stream metric: narrow it with from/to/kind, not participant", e.Metric), at("participant")...)
		}
		if e.At.Duration != 0 && e.Metric != "layer" {
			bad("at applies to the layer metric only", at("at")...)
		}
		if e.At.Duration < 0 || e.At.Duration > s.Duration.Duration {
			bad(fmt.Sprintf("%v is outside the scenario's 0..%v", e.At.Duration, s.Duration.Duration), at("at")...)
		}
		if e.Kind != "" && e.Kind != "audio" && e.Kind != "video" {
			bad(fmt.Sprintf("unknown kind %q (allowed: audio, video)", e.Kind), at("kind")...)
		}
	}
	return errs
}

func fieldPath(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch v := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		}
	}
	return b.String()
}

func hasDup(xs []string) bool {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return true
		}
		seen[x] = true
	}
	return false
}
