package scenarios

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/yamldecode"
)

// NATSpec is a participant's `nat:` value: a preset name, or a mapping
// that spells the behaviour out.
type NATSpec struct {
	// Preset is the preset name when the value is a string.
	Preset string
	// Custom is set when the value is a mapping.
	Custom *NATDetail
	line   int
}

// NATDetail spells a NAT out (RFC 4787).
type NATDetail struct {
	// Mapping and Filtering: endpoint-independent, address-dependent or
	// address-and-port-dependent.
	Mapping   string `yaml:"mapping"`
	Filtering string `yaml:"filtering"`
	// Lifetime of an idle mapping, e.g. "30s"; default 2m (RFC 4787 REQ-5).
	Lifetime Duration `yaml:"lifetime"`
	// Hairpinning and PortPreservation are refused: the emulator always
	// hairpins and never preserves ports.
	Hairpinning      bool `yaml:"hairpinning"`
	PortPreservation bool `yaml:"port_preservation"`
	// CGN puts a carrier-grade NAT in front.
	CGN *NATDetail `yaml:"cgn"`
}

// UnmarshalYAML takes a preset name or a NATDetail mapping.
func (n *NATSpec) UnmarshalYAML(v *yaml.Node) error {
	n.line = v.Line
	switch v.Kind {
	case yaml.ScalarNode:
		n.Preset = v.Value
		return nil
	case yaml.MappingNode:
		n.Custom = &NATDetail{}
		return yamldecode.Decode(v, n.Custom)
	}
	return posError(v, "want a NAT preset name or a mapping with mapping/filtering")
}

// String names the NAT for reports: the preset, or "custom".
func (n NATSpec) String() string {
	switch {
	case n.Custom != nil:
		return "custom"
	case n.Preset == "":
		return string(netem.Open)
	}
	return n.Preset
}

// FirewallSpec is a participant's `firewall:`.
type FirewallSpec struct {
	// BlockUDP drops all UDP except to AllowUDPTo.
	BlockUDP bool `yaml:"block_udp"`
	// AllowUDPTo names embedded servers still reachable: turn, sfu.
	AllowUDPTo []string `yaml:"allow_udp_to"`
}

// LinkChange is a set of link settings; every field left out stays as it
// was (in a schedule step) or at its default (in the link itself).
type LinkChange struct {
	// Down cuts the link (every packet dropped) when true.
	Down *bool `yaml:"down"`
	// Loss is the long-run packet loss, "3%" or 0.03.
	Loss *Fraction `yaml:"loss"`
	// Burst is the mean loss burst length in packets (Gilbert–Elliott);
	// 1 or absent means independent loss.
	Burst *Number `yaml:"burst"`
	// Delay is the one-way base delay, e.g. "40ms".
	Delay *Duration `yaml:"delay"`
	// Jitter is the delay variation: uniform half-width or normal std dev.
	Jitter *Duration `yaml:"jitter"`
	// JitterDistribution is "uniform" (default), "normal" or
	// "half-normal" (RFC 8868 section 4.5.3: delay + |N|, one-sided).
	JitterDistribution *string `yaml:"jitter_distribution"`
	// Reorder lets jitter reorder packets (default false: FIFO).
	Reorder *bool `yaml:"reorder"`
	// Rate limits the link: "2Mbps", "300kbps", a number of bit/s, or
	// "unlimited".
	Rate *Rate `yaml:"rate"`
	// Queue is the bottleneck buffer: a time at the link rate ("100ms") or
	// a size ("64KB", "1500B", or a plain number of bytes). Default 300ms.
	Queue *Queue `yaml:"queue"`
	// Duplicate is the share of packets delivered twice.
	Duplicate *Fraction `yaml:"duplicate"`
	// Trace is a mahimahi capacity trace: a file path (relative to the
	// scenario file) or builtin:NAME for one shipped in testdata/traces.
	Trace *string `yaml:"trace"`
}

// Link is one direction of an access link, with its schedule.
type Link struct {
	LinkChange `yaml:",inline"`
	// Schedule changes the link over scenario time.
	Schedule []Step `yaml:"schedule"`
}

// Step is a change of a link at a scenario time.
type Step struct {
	// At is when the change happens, e.g. "10s".
	At         Duration `yaml:"at"`
	LinkChange `yaml:",inline"`
}

// Rate is a bit rate; 0 means unlimited.
type Rate struct {
	BitsPerSecond int64
}

// UnmarshalYAML parses "2.5Mbps", "300kbps", "64000" or "unlimited".
func (r *Rate) UnmarshalYAML(v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode {
		return posError(v, "want a rate such as 2Mbps, 300kbps or unlimited")
	}
	s := strings.ToLower(strings.TrimSpace(v.Value))
	if s == "unlimited" || s == "0" {
		r.BitsPerSecond = 0
		return nil
	}
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}, {"bps", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return posError(v, fmt.Sprintf("%q is not a rate (e.g. 2Mbps, 300kbps, 64000, unlimited)", v.Value))
	}
	r.BitsPerSecond = int64(f * mult)
	return nil
}

// Queue is a bottleneck buffer size in bytes or in time.
type Queue struct {
	Bytes int
	Time  Duration
}

// UnmarshalYAML parses "100ms", "64KB", "1500B" or a number of bytes.
func (q *Queue) UnmarshalYAML(v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode {
		return posError(v, "want a queue size such as 100ms, 64KB or 15000")
	}
	s := strings.TrimSpace(v.Value)
	up := strings.ToUpper(s)
	for _, u := range []struct {
		suffix string
		m      int
	}{{"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(up, u.suffix) {
			n, err := strconv.Atoi(strings.TrimSpace(s[:len(s)-len(u.suffix)]))
			if err != nil || n <= 0 {
				return posError(v, fmt.Sprintf("%q is not a queue size (e.g. 100ms, 64KB, 15000)", v.Value))
			}
			q.Bytes = n * u.m
			return nil
		}
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 {
			return posError(v, fmt.Sprintf("queue %d must be positive", n))
		}
		q.Bytes = n
		return nil
	}
	return q.Time.UnmarshalYAML(v)
}

// Limits of link settings.
const (
	minRate  = 8_000           // bit/s
	maxRate  = 100_000_000_000 // bit/s
	maxBurst = 1000            // packets
)

// scheduled is an impairment that takes effect at a scenario time.
type Scheduled struct {
	At   time.Duration
	Dir  netem.Direction
	Imp  netem.Impairment
	Desc string
}

// linkCtx carries what resolving a link needs.
type linkCtx struct {
	s    *Scenario
	bad  func(msg string, path ...any)
	path []any
}

func (c linkCtx) At(rest ...any) []any { return append(append([]any{}, c.path...), rest...) }

// resolve validates ch and applies it on top of imp.
func (ch LinkChange) resolve(c linkCtx, imp netem.Impairment) netem.Impairment {
	if ch.Down != nil {
		imp.Down = *ch.Down
	}
	if ch.Loss != nil {
		if v := ch.Loss.Value; v < 0 || v > 1 {
			c.bad(fmt.Sprintf("%g%% is outside 0%%..100%%", v*100), c.At("loss")...)
		}
		imp.Loss = ch.Loss.Value
	}
	if ch.Burst != nil {
		if v := ch.Burst.Value; v < 1 || v > maxBurst {
			c.bad(fmt.Sprintf("%g packets is outside 1..%d (1 means independent loss)", v, maxBurst), c.At("burst")...)
		}
		imp.BurstLength = ch.Burst.Value
	}
	durations := []struct {
		key string
		v   *Duration
		set *time.Duration
	}{{"delay", ch.Delay, &imp.Delay}, {"jitter", ch.Jitter, &imp.Jitter}}
	for _, d := range durations {
		if d.v == nil {
			continue
		}
		if d.v.Duration < 0 || d.v.Duration > maxDelay {
			c.bad(fmt.Sprintf("%v is outside 0..%v", d.v.Duration, maxDelay), c.At(d.key)...)
		}
		*d.set = d.v.Duration
	}
	if ch.JitterDistribution != nil {
		if v := *ch.JitterDistribution; v != netem.JitterUniform && v != netem.JitterNormal && v != netem.JitterHalfNormal {
			c.bad(fmt.Sprintf("unknown distribution %q (allowed: uniform, normal, half-normal)", v), c.At("jitter_distribution")...)
		}
		imp.JitterDist = *ch.JitterDistribution
	}
	if ch.Reorder != nil {
		imp.Reorder = *ch.Reorder
	}
	if ch.Rate != nil {
		if v := ch.Rate.BitsPerSecond; v != 0 && (v < minRate || v > maxRate) {
			c.bad(fmt.Sprintf("%d bit/s is outside 8kbps..100Gbps (or unlimited)", v), c.At("rate")...)
		}
		imp.Rate = ch.Rate.BitsPerSecond
		if imp.Rate > 0 {
			imp.Trace = nil
		}
	}
	if ch.Queue != nil {
		imp.QueueBytes, imp.QueueDelay = ch.Queue.Bytes, ch.Queue.Time.Duration
		if ch.Queue.Bytes == 0 && (ch.Queue.Time.Duration <= 0 || ch.Queue.Time.Duration > maxDelay) {
			c.bad(fmt.Sprintf("%v is outside 1ms..%v", ch.Queue.Time.Duration, maxDelay), c.At("queue")...)
		}
		if ch.Queue.Bytes > 0 && ch.Queue.Bytes < 1500 {
			c.bad(fmt.Sprintf("%d bytes cannot hold one 1500-byte packet", ch.Queue.Bytes), c.At("queue")...)
		}
	}
	if ch.Duplicate != nil {
		if v := ch.Duplicate.Value; v < 0 || v > 1 {
			c.bad(fmt.Sprintf("%g%% is outside 0%%..100%%", v*100), c.At("duplicate")...)
		}
		imp.Duplicate = ch.Duplicate.Value
	}
	if ch.Trace != nil {
		if ch.Rate != nil && ch.Rate.BitsPerSecond > 0 {
			c.bad("set rate or trace, not both", c.At("trace")...)
		}
		t, err := loadTrace(c.s.File, *ch.Trace)
		if err != nil {
			c.bad(err.Error(), c.At("trace")...)
		}
		imp.Trace, imp.Rate = t, 0
	}
	return imp
}

// describe says what a change sets, for events.
func (ch LinkChange) describe() string {
	var parts []string
	add := func(k string, v any) { parts = append(parts, fmt.Sprintf("%s %v", k, v)) }
	if ch.Down != nil {
		if *ch.Down {
			parts = append(parts, "down")
		} else {
			parts = append(parts, "up")
		}
	}
	if ch.Loss != nil {
		add("loss", fmt.Sprintf("%g%%", ch.Loss.Value*100))
	}
	if ch.Burst != nil {
		add("burst", ch.Burst.Value)
	}
	if ch.Delay != nil {
		add("delay", ch.Delay.Duration)
	}
	if ch.Jitter != nil {
		add("jitter", ch.Jitter.Duration)
	}
	if ch.Rate != nil {
		if ch.Rate.BitsPerSecond == 0 {
			parts = append(parts, "rate unlimited")
		} else {
			add("rate", fmt.Sprintf("%gkbps", float64(ch.Rate.BitsPerSecond)/1000))
		}
	}
	if ch.Trace != nil {
		add("trace", *ch.Trace)
	}
	if ch.Duplicate != nil {
		add("duplicate", fmt.Sprintf("%g%%", ch.Duplicate.Value*100))
	}
	return strings.Join(parts, ", ")
}

// resolveLink validates a link with its schedule: the impairment at the
// start, and every later change.
func (l Link) resolve(c linkCtx, dir netem.Direction) (netem.Impairment, []Scheduled) {
	base := l.LinkChange.resolve(c, netem.Impairment{})
	imp := base
	var out []Scheduled
	var last time.Duration = -1
	for i, st := range l.Schedule {
		sc := linkCtx{s: c.s, bad: c.bad, path: c.At("schedule", i)}
		switch {
		case st.At.line == 0:
			c.bad("every step needs at: (e.g. at: 10s)", sc.path...)
		case st.At.Duration < 0 || st.At.Duration >= c.s.Duration.Duration:
			c.bad(fmt.Sprintf("%v is outside the scenario (0..%v)", st.At.Duration, c.s.Duration.Duration), sc.At("at")...)
		case st.At.Duration <= last:
			c.bad(fmt.Sprintf("%v is not after the step before (%v): steps must be in time order", st.At.Duration, last), sc.At("at")...)
		}
		last = st.At.Duration
		imp = st.LinkChange.resolve(sc, imp)
		out = append(out, Scheduled{At: st.At.Duration, Dir: dir, Imp: imp, Desc: st.LinkChange.describe()})
	}
	return base, out
}

// loadTrace reads a mahimahi trace: builtin:NAME from the embedded
// testdata/traces, or a path relative to the scenario file.
func loadTrace(scenarioFile, ref string) (*netem.Trace, error) {
	if name, ok := strings.CutPrefix(ref, "builtin:"); ok {
		f, err := rtclab.Traces.Open(path.Join("testdata/traces", name))
		if err != nil {
			return nil, fmt.Errorf("no built-in trace %q (built-in: %s)", name, strings.Join(BuiltinTraces(), ", "))
		}
		defer f.Close()
		return netem.ParseTrace(ref, f)
	}
	p := ref
	if !filepath.IsAbs(p) && !strings.HasPrefix(scenarioFile, "embedded:") {
		p = filepath.Join(filepath.Dir(scenarioFile), ref)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", p, err)
	}
	defer f.Close()
	return netem.ParseTrace(p, f)
}

// BuiltinTraces names the capacity traces shipped in the binary, written
// "builtin:NAME" in a trace field.
func BuiltinTraces() []string {
	entries, _ := fs.ReadDir(rtclab.Traces, "testdata/traces")
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// resolveNAT validates a participant's nat and firewall and fills the
// netem host configuration.
func (p Participant) resolveNAT(c linkCtx, h *netem.HostConfig) {
	switch {
	case p.NAT.Custom != nil:
		h.HomeNAT = p.NAT.Custom.resolve(linkCtx{s: c.s, bad: c.bad, path: c.At("nat")}, true)
		if cg := p.NAT.Custom.CGN; cg != nil {
			h.CGN = cg.resolve(linkCtx{s: c.s, bad: c.bad, path: c.At("nat", "cgn")}, false)
		}
	default:
		h.NAT = netem.NAT(p.NAT.String())
		if !h.NAT.Valid() {
			c.bad(fmt.Sprintf("unknown NAT %q (allowed: %s, or a mapping with mapping/filtering)%s", p.NAT.Preset, netem.NATNames(), yamldecode.DidYouMean(p.NAT.Preset, strings.Split(netem.NATNames(), ", "))), c.At("nat")...)
		}
	}
	if fw := p.Firewall; fw != nil {
		h.Firewall = &netem.Firewall{BlockUDP: fw.BlockUDP}
		for i, name := range fw.AllowUDPTo {
			if name != TURNHost && name != SFUHost {
				c.bad(fmt.Sprintf("unknown server %q (allowed: %s, %s)", name, TURNHost, SFUHost), c.At("firewall", "allow_udp_to", i)...)
				continue
			}
			h.Firewall.AllowUDPTo = append(h.Firewall.AllowUDPTo, name)
		}
	}
}

func (d *NATDetail) resolve(c linkCtx, home bool) *netem.NATConfig {
	cfg := &netem.NATConfig{Mapping: netem.Dependency(d.Mapping), Filtering: netem.Dependency(d.Filtering), Lifetime: d.Lifetime.Duration}
	allowed := []string{}
	for _, dep := range netem.Dependencies {
		allowed = append(allowed, string(dep))
	}
	for _, f := range []struct{ key, v string }{{"mapping", d.Mapping}, {"filtering", d.Filtering}} {
		if !slices.Contains(allowed, f.v) {
			c.bad(fmt.Sprintf("%q (allowed: %s)", f.v, strings.Join(allowed, ", ")), c.At(f.key)...)
		}
	}
	if d.Lifetime.Duration < 0 || (d.Lifetime.line != 0 && d.Lifetime.Duration < time.Second) {
		c.bad(fmt.Sprintf("%v: a mapping lifetime must be at least 1s", d.Lifetime.Duration), c.At("lifetime")...)
	}
	if d.Hairpinning {
		c.bad("hairpinning is not configurable: the emulated NAT (pion vnet) always forwards a packet for its own outside address back in, as hosts sharing one NAT (lan:) show; remove it", c.At("hairpinning")...)
	}
	if d.PortPreservation {
		c.bad("port preservation is not emulated (pion vnet does not implement it); remove it rather than get a NAT that does something else", c.At("port_preservation")...)
	}
	if !home && d.CGN != nil {
		c.bad("a carrier-grade NAT cannot have another in front of it", c.At("cgn")...)
	}
	return cfg
}
