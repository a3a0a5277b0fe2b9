package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/stack/flow"
	"github.com/rtclab/rtclab/yamldecode"
)

// TopologyFlows is the topology of bandwidth test cases (RFC 8867):
// participants are plain hosts with access links, and the scenario's
// flows section says what traffic crosses them.
const TopologyFlows = "flows"

// Flow kinds.
const (
	FlowMedia = "media" // GCC-controlled synthetic video over a PeerConnection
	FlowAudio = "audio" // constant-bitrate audio (RFC 8867 section 4.3)
	FlowCBR   = "cbr"   // constant-bitrate background UDP (RFC 8868 section 5.3)
	FlowTCP   = "tcp"   // TCP-like window-based flow over UDP
)

// Defaults of the audio kind: RFC 8867 section 4.3's audio source is CBR
// at 20 kbit/s; its packet interval is not given, rtclab takes 20 ms
// (50-byte payloads), the common audio frame.
const (
	audioRate   = 20_000
	audioPacket = 50
)

// Flow is one traffic flow of the flows topology.
type Flow struct {
	// Name is unique among flows: lower-case letters, digits and '-'.
	Name string `yaml:"name"`
	// Kind is media (GCC video), audio (CBR audio beside a video flow),
	// cbr (background UDP) or tcp.
	Kind string `yaml:"kind"`
	// From and To name the sending and the receiving participant.
	From string `yaml:"from"`
	To   string `yaml:"to"`
	// Count, when above 1, makes that many identical flows named
	// NAME-1 ... NAME-N (RFC 8867 section 5.7's ten short TCP flows).
	Count int `yaml:"count"`
	// Start and Stop bound when the flow sends; Stop defaults to the end.
	Start Duration `yaml:"start"`
	Stop  Duration `yaml:"stop"`
	// Pause lists media pauses (RFC 8867 section 5.8).
	Pause []PauseSpec `yaml:"pause"`
	// MinRate, MaxRate and StartRate bound the media encoder and start
	// GCC (RFC 8867 section 4.3: 150 kbps, 1.5 Mbps, 150 kbps).
	MinRate   *Rate `yaml:"min_rate"`
	MaxRate   *Rate `yaml:"max_rate"`
	StartRate *Rate `yaml:"start_rate"`
	// FPS is the media frame rate (default 25).
	FPS *Number `yaml:"fps"`
	// Rate is a cbr flow's bit rate (an audio flow's, default 20kbps).
	Rate *Rate `yaml:"rate"`
	// Packet is a cbr or audio flow's UDP payload size: default 1472B
	// for cbr (a 1500-byte IP packet, RFC 8868 section 5.3), 50B for
	// audio (20 ms at 20 kbit/s).
	Packet *Queue `yaml:"packet"`
	// Files makes a tcp flow a sequence of downloads and idle periods.
	Files *FilesSpec `yaml:"files"`
}

// PauseSpec is a span in which a media flow sends nothing.
type PauseSpec struct {
	// At is when the pause begins, Resume when media resumes.
	At     Duration `yaml:"at"`
	Resume Duration `yaml:"resume"`
}

// FilesSpec makes a tcp flow short-lived downloads (RFC 8867 section 5.7).
type FilesSpec struct {
	// Min and Max bound a download's size (uniform), e.g. 30KB and 50KB.
	Min Queue `yaml:"min"`
	Max Queue `yaml:"max"`
	// MeanOff is the mean idle time between downloads (exponential).
	MeanOff Duration `yaml:"mean_off"`
	// StartOn is how many of the Count copies begin with a download; the
	// others begin idle. Default: all.
	StartOn *int `yaml:"start_on"`
}

func LinkMetric(m string) bool {
	def, _ := analysis.LookupMetric(m, true)
	return def.Scope == analysis.ScopeLink
}

// Limits of flows.
const (
	maxFlows   = 64
	maxFlowFPS = 120
)

// flowInstance is one resolved flow (a Count copy has its own).
type FlowInstance struct {
	Flow
	ID            string
	Index         int  // copy number, 0 for a single flow
	DownloadFirst bool // tcp files: begins with a download
	StopAt        time.Duration
}

// validateFlows checks the flows section and the expect entries of a
// flows scenario. names are the participants.
func (s *Scenario) validateFlows(root *yaml.Node, names map[string]bool) []error {
	var errs []error
	bad := func(msg string, path ...any) {
		errs = append(errs, &Error{File: s.File, Line: yamldecode.LineOf(root, path...), Field: fieldPath(path), Msg: msg})
	}
	for i, p := range s.Participants {
		if len(p.Publish) > 0 {
			bad("the flows topology sends what flows declares; leave publish out", "participants", i, "publish")
		}
		if p.NAT.String() != string(netem.Open) || p.Firewall != nil {
			bad("the flows topology has no STUN or TURN server: its hosts are open (leave nat and firewall out)", "participants", i, "nat")
		}
	}
	if len(s.Flows) == 0 {
		bad("the flows topology needs at least one flow", "flows")
	}
	seen := map[string]bool{}
	total := 0
	s.FlowInstances = nil
	end := s.Duration.Duration
	for i := range s.Flows {
		f := &s.Flows[i]
		at := func(rest ...any) []any { return append([]any{"flows", i}, rest...) }
		switch {
		case !nameRE.MatchString(f.Name):
			bad(fmt.Sprintf("name %q: use 1-32 lower-case letters, digits and '-', starting with a letter", f.Name), at("name")...)
		case seen[f.Name]:
			bad(fmt.Sprintf("name %q is used twice", f.Name), at("name")...)
		}
		seen[f.Name] = true
		switch f.Kind {
		case FlowMedia, FlowAudio, FlowCBR, FlowTCP:
		default:
			bad(fmt.Sprintf("unknown kind %q (allowed: media, audio, cbr, tcp)", f.Kind), at("kind")...)
		}
		for _, e := range []struct{ key, v string }{{"from", f.From}, {"to", f.To}} {
			if !names[e.v] {
				bad(fmt.Sprintf("no participant named %q", e.v), at(e.key)...)
			}
		}
		if f.From == f.To && f.From != "" {
			bad("from and to are the same participant; a flow must cross the network", at("to")...)
		}
		if f.Count < 0 || f.Count > maxFlows {
			bad(fmt.Sprintf("count %d is outside 1..%d", f.Count, maxFlows), at("count")...)
		}
		stop := f.Stop.Duration
		if f.Stop.line == 0 {
			stop = end
		}
		switch {
		case f.Start.Duration < 0 || f.Start.Duration >= end:
			bad(fmt.Sprintf("%v is outside the scenario (0..%v)", f.Start.Duration, end), at("start")...)
		case stop <= f.Start.Duration || stop > end:
			bad(fmt.Sprintf("%v must be after start (%v) and at most the duration (%v)", stop, f.Start.Duration, end), at("stop")...)
		}
		only := func(key string, set bool, kind string) {
			if set && f.Kind != kind {
				bad(fmt.Sprintf("%s applies to %s flows only", key, kind), at(key)...)
			}
		}
		only("pause", len(f.Pause) > 0, FlowMedia)
		only("min_rate", f.MinRate != nil, FlowMedia)
		only("max_rate", f.MaxRate != nil, FlowMedia)
		only("start_rate", f.StartRate != nil, FlowMedia)
		only("fps", f.FPS != nil, FlowMedia)
		only("rate", f.Rate != nil && f.Kind != FlowAudio, FlowCBR)
		only("packet", f.Packet != nil && f.Kind != FlowAudio, FlowCBR)
		if f.Packet != nil && (f.Packet.Bytes < 28 || f.Packet.Bytes > flow.MTUPayload) {
			bad(fmt.Sprintf("packet must be a size within 28B..%dB, e.g. packet: 1200B", flow.MTUPayload), at("packet")...)
		}
		only("files", f.Files != nil, FlowTCP)
		if (f.Kind == FlowCBR || f.Rate != nil) && (f.Rate == nil || f.Rate.BitsPerSecond < minRate || f.Rate.BitsPerSecond > maxRate) {
			bad("a cbr flow needs a rate within 8kbps..100Gbps, e.g. rate: 1Mbps", at("rate")...)
		}
		for _, r := range []struct {
			key string
			v   *Rate
		}{{"min_rate", f.MinRate}, {"max_rate", f.MaxRate}, {"start_rate", f.StartRate}} {
			if r.v != nil && (r.v.BitsPerSecond < minRate || r.v.BitsPerSecond > maxRate) {
				bad(fmt.Sprintf("%d bit/s is outside 8kbps..100Gbps", r.v.BitsPerSecond), at(r.key)...)
			}
		}
		if f.MinRate != nil && f.MaxRate != nil && f.MinRate.BitsPerSecond > f.MaxRate.BitsPerSecond {
			bad("min_rate is above max_rate", at("min_rate")...)
		}
		if f.FPS != nil && (f.FPS.Value < 1 || f.FPS.Value > maxFlowFPS) {
			bad(fmt.Sprintf("%g frames per second is outside 1..%d", f.FPS.Value, maxFlowFPS), at("fps")...)
		}
		var last time.Duration = -1
		for j, p := range f.Pause {
			switch {
			case p.At.Duration <= f.Start.Duration || p.At.Duration >= stop:
				bad(fmt.Sprintf("%v is not within the flow (%v..%v)", p.At.Duration, f.Start.Duration, stop), at("pause", j, "at")...)
			case p.Resume.Duration <= p.At.Duration || p.Resume.Duration > stop:
				bad(fmt.Sprintf("%v must be after at (%v) and at most the flow's stop (%v)", p.Resume.Duration, p.At.Duration, stop), at("pause", j, "resume")...)
			case p.At.Duration <= last:
				bad("pauses must be in time order and not overlap", at("pause", j, "at")...)
			}
			last = p.Resume.Duration
		}
		copies := max(f.Count, 1)
		startOn := copies
		if fs := f.Files; fs != nil {
			if fs.Min.Bytes <= 0 || fs.Max.Bytes < fs.Min.Bytes {
				bad("files needs min and max sizes with min <= max, e.g. min: 30KB, max: 50KB", at("files")...)
			}
			if fs.MeanOff.Duration <= 0 {
				bad("files needs mean_off, the mean idle time between downloads, e.g. 10s", at("files", "mean_off")...)
			}
			if fs.StartOn != nil {
				if *fs.StartOn < 0 || *fs.StartOn > copies {
					bad(fmt.Sprintf("start_on %d is outside 0..%d (count)", *fs.StartOn, copies), at("files", "start_on")...)
				}
				startOn = *fs.StartOn
			}
		}
		for k := range copies {
			in := FlowInstance{Flow: *f, ID: f.Name, StopAt: stop, DownloadFirst: k < startOn}
			if copies > 1 {
				in.ID, in.Index = fmt.Sprintf("%s-%d", f.Name, k+1), k+1
			}
			s.FlowInstances = append(s.FlowInstances, in)
		}
		total += copies
	}
	if total > maxFlows {
		bad(fmt.Sprintf("%d flows in all; at most %d", total, maxFlows), "flows")
	}
	for i := range s.Expect {
		e := &s.Expect[i]
		at := func(rest ...any) []any { return append([]any{"expect", i}, rest...) }
		e.validateCriterion(bad, at)
		if _, ok := analysis.LookupMetric(e.Metric, true); !ok {
			bad(fmt.Sprintf("unknown metric %q for the flows topology (allowed: %s)%s", e.Metric, strings.Join(analysis.MetricNames(true), ", "), yamldecode.DidYouMean(e.Metric, analysis.MetricNames(true))), at("metric")...)
			continue
		}
		if e.Min == nil && e.Max == nil {
			bad("needs min, max or both", at()...)
		}
		if e.Min != nil && e.Max != nil && e.Min.Value > e.Max.Value {
			bad(fmt.Sprintf("min %g is above max %g", e.Min.Value, e.Max.Value), at("min")...)
		}
		if e.Participant != "" || e.From != "" || e.To != "" || e.Kind != "" {
			bad("in the flows topology narrow a check with flow: (a media flow's name, or for link metrics any flow on that link)", at()...)
		}
		if e.Metric == "utilization" && slices.ContainsFunc(s.Flows, func(f Flow) bool { return f.Kind == FlowTCP }) {
			bad("utilization is not meaningful beside TCP cross traffic (RFC 8868 section 3 item 10: only for media alone or among similar flows); leave it out", at("metric")...)
		}
		if e.Flow != "" && !s.hasFlow(e.Flow) {
			bad(fmt.Sprintf("no flow named %q", e.Flow), at("flow")...)
		}
	}
	return errs
}

func (s *Scenario) hasFlow(name string) bool {
	for _, f := range s.FlowInstances {
		if f.ID == name || f.Name == name {
			return true
		}
	}
	return false
}

// cbrRate and cbrPacket are a cbr or audio flow's rate (bit/s) and UDP
// payload size, defaults applied; 0 for other kinds.
func (f FlowInstance) CBRRate() int {
	switch {
	case f.Rate != nil:
		return int(f.Rate.BitsPerSecond)
	case f.Kind == FlowAudio:
		return audioRate
	}
	return 0
}

func (f FlowInstance) CBRPacket() int {
	switch {
	case f.Packet != nil:
		return f.Packet.Bytes
	case f.Kind == FlowAudio:
		return audioPacket
	}
	return flow.MTUPayload
}

// constant reports whether the flow sends at a fixed rate (cbr, audio).
func (f FlowInstance) Constant() bool { return f.Kind == FlowCBR || f.Kind == FlowAudio }

// flowCodec is the encoder configuration of a media flow.
func (f FlowInstance) CodecParams() flow.CodecParams {
	p := flow.CodecParams{}
	if f.MinRate != nil {
		p.MinRate = int(f.MinRate.BitsPerSecond)
	}
	if f.MaxRate != nil {
		p.MaxRate = int(f.MaxRate.BitsPerSecond)
	}
	if f.FPS != nil {
		p.FPS = f.FPS.Value
	}
	return p
}

// linkAt is what a participant's link direction is at scenario time t.
func (s *Scenario) LinkAt(participant string, dir netem.Direction, t time.Duration) netem.Impairment {
	for _, p := range s.Participants {
		if p.Name != participant {
			continue
		}
		imp := p.Resolved.Uplink
		if dir == netem.Downlink {
			imp = p.Resolved.Downlink
		}
		for _, sc := range p.Schedule {
			if sc.Dir == dir && sc.At <= t {
				imp = sc.Imp
			}
		}
		return imp
	}
	return netem.Impairment{}
}
