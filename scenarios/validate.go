package scenarios

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/yamldecode"
)

// participantMetric reports whether m is measured per participant.
func ParticipantMetric(m string) bool {
	def, _ := analysis.LookupMetric(m, false)
	return def.Scope == analysis.ScopeParticipant
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
		errs = append(errs, &Error{File: s.File, Line: yamldecode.LineOf(root, path...), Field: fieldPath(path), Msg: msg})
	}
	if s.Name == "" {
		bad("is required: a short name for reports", "name")
	}
	switch s.Topology {
	case "":
		s.Topology = "sfu"
	case "sfu", "p2p", TopologyFlows:
	default:
		bad(fmt.Sprintf("unknown topology %q (allowed: sfu, p2p, flows)%s", s.Topology, yamldecode.DidYouMean(s.Topology, []string{"sfu", "p2p", TopologyFlows})), "topology")
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
	switch m := s.Servers.Signaling.MDNS; m {
	case "", MDNSStrip, MDNSReject:
	default:
		bad(fmt.Sprintf("unknown mode %q (allowed: strip, reject)%s", m, yamldecode.DidYouMean(m, []string{MDNSStrip, MDNSReject})), "servers", "signaling", "mdns")
	}

	names := map[string]bool{}
	lanOf := map[string]int{} // LAN -> its first participant
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
		p.Resolved = netem.HostConfig{Name: p.Name}
		p.resolveNAT(lc, &p.Resolved)
		s.validateLAN(bad, i, lanOf)
		for j, m := range p.Publish {
			if m != "audio" && m != "video" {
				bad(fmt.Sprintf("unknown media %q (allowed: audio, video)", m), at("publish", j)...)
			}
		}
		if hasDup(p.Publish) {
			bad("lists the same media twice", at("publish")...)
		}
		errs = append(errs, s.validateMedia(root, i)...)
		var up, down []Scheduled
		p.Resolved.Uplink, up = p.Uplink.resolve(linkCtx{s: s, bad: bad, path: at("uplink")}, netem.Uplink)
		p.Resolved.Downlink, down = p.Downlink.resolve(linkCtx{s: s, bad: bad, path: at("downlink")}, netem.Downlink)
		p.Schedule = append(up, down...)
	}

	s.validateTimeline(bad, names)
	errs = append(errs, s.validateE2EE(root)...)
	s.validateBackend(bad)
	s.validateClients(bad)
	s.validateSFU(bad)
	s.validateReference(bad)
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
		def, ok := analysis.LookupMetric(e.Metric, false)
		if !ok {
			bad(fmt.Sprintf("unknown metric %q (allowed: %s)%s", e.Metric, strings.Join(analysis.MetricNames(false), ", "), yamldecode.DidYouMean(e.Metric, analysis.MetricNames(false))), at("metric")...)
			continue
		}
		errs = append(errs, s.validateMetricKind(root, i, def)...)
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
		if ParticipantMetric(e.Metric) && (e.From != "" || e.To != "" || e.Kind != "") {
			bad(fmt.Sprintf("%s is a participant metric: narrow it with participant, not from/to/kind", e.Metric), at("metric")...)
		}
		if !ParticipantMetric(e.Metric) && e.Participant != "" {
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

// validateLAN checks participant i's lan and mdns options and fills
// Resolved.LAN: participants of one LAN share one NAT (netem builds one),
// so they must declare the same one.
func (s *Scenario) validateLAN(bad func(string, ...any), i int, lanOf map[string]int) {
	p := &s.Participants[i]
	at := func(rest ...any) []any { return append([]any{"participants", i}, rest...) }
	if s.Topology == TopologyFlows {
		if p.LAN != "" {
			bad("lan applies to calls (sfu, p2p), not the flows topology", at("lan")...)
		}
		if p.MDNS {
			bad("mdns applies to calls (sfu, p2p), not the flows topology", at("mdns")...)
		}
		return
	}
	if p.LAN == "" {
		return
	}
	if !nameRE.MatchString(p.LAN) {
		bad(fmt.Sprintf("lan %q: use 1-32 lower-case letters, digits and '-', starting with a letter", p.LAN), at("lan")...)
		return
	}
	p.Resolved.LAN = p.LAN
	first, ok := lanOf[p.LAN]
	if !ok {
		lanOf[p.LAN] = i
		return
	}
	f := s.Participants[first].Resolved
	r := p.Resolved
	if f.NAT != r.NAT || !sameNATConfig(f.HomeNAT, r.HomeNAT) || !sameNATConfig(f.CGN, r.CGN) {
		bad(fmt.Sprintf("LAN %q has one NAT: %s is behind %s, so %s must be too (declare the same nat)", p.LAN, s.Participants[first].Name, natWords(f), p.Name), at("nat")...)
	}
}

func sameNATConfig(a, b *netem.NATConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Mapping == b.Mapping && a.Filtering == b.Filtering && a.Lifetime == b.Lifetime
}

func natWords(h netem.HostConfig) string {
	switch {
	case h.HomeNAT != nil:
		return fmt.Sprintf("a %s-mapping, %s-filtering NAT", h.HomeNAT.Mapping, h.HomeNAT.Filtering)
	case h.NAT == "":
		return "no NAT (open)"
	}
	return string(h.NAT)
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
