package runner

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/flow"
)

// Constants of the RFC 8868 metrics as rtclab computes them.
const (
	convergenceBand = 0.2 // within ±20 % of the share counts as converged (RFC 8868 section 3 item 8 leaves "stable" open)
	steadyAfter     = 5.0 // s after a change before the rate's variation is measured
	cdfPoints       = 101
)

// report assembles the report of a flows run, whatever point it reached.
func (r *flowRun) report() *reports.Report {
	s := r.s
	rep := &reports.Report{
		Schema: reports.Schema,
		Tool:   r.opt.Tool,
		Scenario: reports.ScenarioInfo{
			Name: s.Name, File: s.File, Description: s.Description, Topology: s.Topology,
			Clock: r.opt.Clock, Backend: kernelName(s), Seed: s.Seed, DurationS: s.Duration.Seconds(),
		},
		Participants: []reports.Participant{},
		Streams:      []reports.Stream{},
		Series:       []analysis.Series{},
		Events:       []analysis.Event{},
	}
	if r.rec != nil {
		rep.Series, rep.Events = r.rec.Series(), r.rec.Events()
	}
	bw := &reports.Bandwidth{Links: []reports.BottleneckLink{}, Flows: []reports.BandwidthFlow{}}
	for _, st := range r.flows {
		st.ratio = st.wireRatio()
	}
	for _, st := range r.flows {
		bw.Flows = append(bw.Flows, r.flowMetrics(st))
	}
	for _, link := range r.links {
		bw.Links = append(bw.Links, r.linkMetrics(link))
	}
	if ref := r.ref; ref != nil {
		bw.Reference = ref
		for i, f := range bw.Flows {
			for _, g := range ref.Flows {
				// Only a flow whose bottleneck is the same link there: in
				// 5.3's reference the backward flow has none.
				if g.Name != f.Name || f.Kind != scenarios.FlowMedia || g.Kind != f.Kind || f.Link == "" || g.Link != f.Link {
					continue
				}
				if g.RateKbps > 0 {
					bw.Flows[i].RateVsReference = opt(f.RateKbps / g.RateKbps)
				}
				if f.QueueDelayP95MS != nil && g.QueueDelayP95MS != nil {
					bw.Flows[i].QueueDelayP95VsReferenceMS = opt(*f.QueueDelayP95MS - *g.QueueDelayP95MS)
				}
			}
		}
	}
	rep.Bandwidth = bw
	rep.Checks = r.checks(bw)
	rep.Verdict = analysis.OverallVerdict(rep.Checks)
	return rep
}

// opt is v, or nil when v is not a finite number (JSON null).
func opt(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	v = round(v, 4)
	return &v
}

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// active reports whether a flow sends at scenario time t (seconds).
func (st *flowState) active(t float64) bool {
	if t < st.in.Start.Seconds() || t >= st.in.StopAt.Seconds() {
		return false
	}
	for _, p := range st.in.Pause {
		if t >= p.At.Seconds() && t < p.Resume.Seconds() {
			return false
		}
	}
	return true
}

// activeSeconds is how long the flow was scheduled to send, pauses
// excluded.
func (st *flowState) activeSeconds() float64 {
	d := st.in.StopAt.Seconds() - st.in.Start.Seconds()
	for _, p := range st.in.Pause {
		d -= p.Resume.Seconds() - p.At.Seconds()
	}
	return d
}

// longLived is a flow that competes for its share all the time: media
// and a tcp flow without files.
func (st *flowState) longLived() bool {
	return st.in.Kind == scenarios.FlowMedia || st.in.Kind == scenarios.FlowTCP && st.in.Files == nil
}

// share is the rate a flow should get at t: the capacity of its
// bottleneck less the cbr traffic on it, split evenly among the active
// long-lived flows; capped to the encoder's range for media when capped.
// It is in the capacity's units, IP packet bytes (netem counts the IPv4
// and UDP headers), and so are the rates it is compared with (fs.wire):
// RFC 8868 section 3 items 8 to 10 set a flow's sending rate against the
// bottleneck's capacity, which is only a comparison in one unit. A CBR
// flow takes its rate and 28 bytes a datagram; the encoder's range is
// scaled by the flow's own wire bytes per payload byte (wireRatio).
func (r *flowRun) share(st *flowState, t float64, capped bool) float64 {
	if st.link == "" {
		return math.NaN()
	}
	h := r.hopByName(st.link)
	avail := float64(r.s.LinkAt(h.participant, h.dir, secs(t)).Rate)
	n := 0
	for _, o := range r.flows {
		if o.link != st.link || !o.active(t) {
			continue
		}
		switch {
		case o.in.Constant():
			pkt := float64(o.in.CBRPacket())
			avail -= float64(o.in.CBRRate()) * (pkt + udpIPHeader) / pkt
		case o.longLived():
			n++
		}
	}
	if n == 0 || avail <= 0 {
		return math.NaN()
	}
	v := avail / float64(n)
	if capped && st.in.Kind == scenarios.FlowMedia {
		c := flow.NewCodec(st.in.CodecParams(), 0).Params()
		k := math.Max(st.ratio, 1) // a packet never takes fewer bytes on the wire
		v = math.Max(math.Min(v, float64(c.MaxRate)*k), float64(c.MinRate)*k)
	}
	return v / 1000 // kbps
}

// change is an event a flow has to react to.
type change struct {
	at   float64
	what string
}

// changes lists, in time order, what changed on a flow's bottleneck
// while it was active after its start: capacity steps and other flows
// joining, leaving, pausing and resuming, and its own resumptions.
func (r *flowRun) changes(st *flowState) []change {
	var out []change
	add := func(at float64, what string) {
		if at > st.in.Start.Seconds() && at < st.in.StopAt.Seconds() && st.active(at) {
			out = append(out, change{at, what})
		}
	}
	h := r.hopByName(st.link)
	for _, p := range r.s.Participants {
		if p.Name != h.participant {
			continue
		}
		for _, sc := range p.Schedule {
			if sc.Dir == h.dir {
				add(sc.At.Seconds(), fmt.Sprintf("capacity %g kbps", float64(sc.Imp.Rate)/1000))
			}
		}
	}
	for _, o := range r.flows {
		if o.link != st.link || !o.longLived() && !o.in.Constant() {
			continue
		}
		for _, p := range o.in.Pause {
			if o == st {
				add(p.Resume.Seconds(), "resumed")
				continue
			}
			add(p.At.Seconds(), o.in.ID+" paused")
			add(p.Resume.Seconds(), o.in.ID+" resumed")
		}
		if o == st {
			continue
		}
		add(o.in.Start.Seconds(), o.in.ID+" joined")
		add(o.in.StopAt.Seconds(), o.in.ID+" left")
	}
	slices.SortStableFunc(out, func(a, b change) int { return compareFloat(a.at, b.at) })
	return slices.CompactFunc(out, func(a, b change) bool { return a.at == b.at })
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// until is when the reaction to a change at t must be judged by: the
// next change, the flow's next pause or its stop.
func (st *flowState) until(t float64, chs []change) float64 {
	end := st.in.StopAt.Seconds()
	for _, c := range chs {
		if c.at > t {
			end = math.Min(end, c.at)
			break
		}
	}
	for _, p := range st.in.Pause {
		if p.At.Seconds() > t {
			end = math.Min(end, p.At.Seconds())
		}
	}
	return end
}

func (st *flowState) points(vs []float64) []analysis.Point {
	out := make([]analysis.Point, len(vs))
	for i, v := range vs {
		out[i] = analysis.Point{T: st.series.t[i], V: v}
	}
	return out
}

func (r *flowRun) flowMetrics(st *flowState) reports.BandwidthFlow {
	in := st.in
	out := reports.BandwidthFlow{
		Name: in.ID, Kind: in.Kind, From: in.From, To: in.To, Link: st.link,
		StartS: in.Start.Seconds(), StopS: in.StopAt.Seconds(),
		Convergence: []reports.Convergence{}, DelayCDFMS: []float64{},
	}
	fs := st.series
	var send, recv, wire []float64
	for i, t := range fs.t {
		if st.active(t - sampleEvery.Seconds()/2) {
			send, recv, wire = append(send, fs.send[i]), append(recv, fs.recv[i]), append(wire, fs.wire[i])
		}
	}
	out.RateKbps = round(nanZero(mean(send)), 1)
	out.ReceiveKbps = round(nanZero(mean(recv)), 1)
	out.WireKbps = round(nanZero(mean(wire)), 1)
	c := st.counters
	out.PacketsSent, out.PacketsReceived = c.SentPackets, c.ReceivedPackets
	out.BytesSent, out.BytesReceived = c.SentBytes, c.ReceivedBytes
	if in.Kind == scenarios.FlowTCP && c.SentPackets > 0 {
		// RFC 8867 section 5.6 "loss for the TCP flow": data segments
		// sent (retransmissions included) that did not deliver new data
		// (lost, or a spurious retransmission; the receiver counts each
		// segment once, after 2 s for packets in flight).
		out.LossFraction = opt(float64(c.SentPackets-min(c.ReceivedPackets, c.SentPackets)) / float64(c.SentPackets))
	}
	if len(st.qdelay) > 0 {
		out.QueueDelayP50MS = opt(analysis.Percentile(st.qdelay, 50))
		out.QueueDelayP95MS = opt(analysis.Percentile(st.qdelay, 95))
		for _, v := range analysis.CDF(st.qdelay, cdfPoints) {
			out.DelayCDFMS = append(out.DelayCDFMS, round(v, 2))
		}
	}
	if in.Kind == scenarios.FlowTCP {
		out.Oscillation = opt(st.tcpVariation())
	}
	if in.Kind != scenarios.FlowMedia {
		return out
	}
	if act := st.activeSeconds(); act > 0 {
		out.FeedbackKbps = opt(float64(c.FeedbackBytes) * 8 / act / 1000)
	}
	if st.loss.Sent > 0 {
		out.LossFraction = opt(float64(st.loss.Lost) / float64(st.loss.Sent))
		out.ResidualLossFraction = opt(float64(st.loss.Unrepaired) / float64(st.loss.Sent))
	}
	if st.link == "" {
		return out
	}
	rate := st.points(fs.wire1s)
	chs := r.changes(st)
	start := in.Start.Seconds()
	if ref := r.share(st, start+0.001, true); !math.IsNaN(ref) {
		v, ok := analysis.ConvergenceTime(rate, start, st.until(start, chs), ref, convergenceBand)
		out.RampUpS, out.RampUpConverged = opt(v), ok
	}
	worst := math.NaN()
	out.ConvergedAll = true
	for _, c := range chs {
		ref := r.share(st, c.at+0.001, true)
		if math.IsNaN(ref) {
			continue
		}
		v, ok := analysis.ConvergenceTime(rate, c.at, st.until(c.at, chs), ref, convergenceBand)
		out.Convergence = append(out.Convergence, reports.Convergence{AtS: c.at, Change: c.what, ShareKbps: round(ref, 1), S: round(v, 2), Converged: ok})
		out.ConvergedAll = out.ConvergedAll && ok
		if math.IsNaN(worst) || v > worst {
			worst = v
		}
	}
	out.ConvergenceS = opt(worst)
	out.Oscillation = opt(r.oscillation(st, chs))
	out.Oscillations = opt(float64(r.oscillations(st)))
	var over []float64
	for i, t := range fs.t {
		if !st.active(t - 0.05) {
			continue
		}
		if sh := r.share(st, t, false); sh > 0 {
			// GCC counts payload bytes (pion's feedback adapter takes
			// len(payload)): its estimate in the share's IP bytes.
			over = append(over, fs.estimate[i]*st.ratio/sh)
		}
	}
	out.EstimateOvershoot = opt(analysis.Percentile(over, 95))
	return out
}

// oscillation is the magnitude of the rate's variation (RFC 8867 section
// 4.1 item 1.B, "frequency and magnitude of oscillations"): the
// coefficient of variation of the flow's rate over its share, in whole
// seconds at least steadyAfter after its start and any change, before
// the next. oscillations counts their frequency.
func (r *flowRun) oscillation(st *flowState, chs []change) float64 {
	starts := []float64{st.in.Start.Seconds()}
	for _, c := range chs {
		starts = append(starts, c.at)
	}
	var xs []float64
	pts := st.points(st.series.wire)
	for i := range pts {
		pts[i].T -= sampleEvery.Seconds() / 2 // each 100 ms sample at its middle, in its own second
	}
	for i, from := range starts {
		until := st.until(from, chs)
		if i+1 < len(starts) {
			until = math.Min(until, starts[i+1])
		}
		for _, w := range analysis.WindowMeans(pts, math.Ceil(from+steadyAfter), math.Floor(until), 1) {
			if sh := r.share(st, w.T+0.5, true); sh > 0 && st.active(w.T) && st.active(w.T+0.99) {
				xs = append(xs, w.V/sh)
			}
		}
	}
	return analysis.RateVariation(xs)
}

// tcpVariation is RFC 8867 section 5.7's "variation in the sending rate
// of the TCP flow" (flow level metric 1.A): the coefficient of variation
// of its 1 s sending rate over the whole seconds it was scheduled to
// send. A TCP flow has no share to be judged against (a short one is
// idle between downloads by design), so the rate itself varies.
func (st *flowState) tcpVariation() float64 {
	var xs []float64
	for _, w := range st.windowed(st.series.send, 1) {
		if w.T >= math.Ceil(st.in.Start.Seconds()) && w.T+1 <= math.Floor(st.in.StopAt.Seconds())+1e-9 {
			xs = append(xs, w.V)
		}
	}
	return analysis.RateVariation(xs)
}

// oscillations counts the flow's swings between watermarks (RFC 8868
// section 3 item 9): its sending rate at 200 ms (section 3 item 1) over
// its share, against the section's example of watermarks a factor of 4
// apart (1/2 and 2 times the share, as 500 kbit/s and 2 Mbit/s are
// around 1 Mbit/s) within 500 ms, over the time it is active.
func (r *flowRun) oscillations(st *flowState) int {
	pts := st.rate200()
	var rel []analysis.Point
	for _, p := range pts {
		if !st.active(p.T) || !st.active(p.T+analysis.RateInterval-0.001) {
			continue
		}
		if sh := r.share(st, p.T+analysis.RateInterval/2, true); sh > 0 {
			rel = append(rel, analysis.Point{T: p.T, V: p.V / sh})
		}
	}
	half := math.Sqrt(analysis.WatermarkRatio)
	return analysis.Oscillations(rel, 1/half, half, analysis.WatermarkWindow)
}

// rate200 is the flow's sending rate on the wire at RFC 8868 section 3
// item 1's 200 ms: the mean of two 100 ms samples, each placed at its
// middle.
func (st *flowState) rate200() []analysis.Point {
	return st.windowed(st.series.wire, analysis.RateInterval)
}

// wireRatio is the flow's IP bytes on the wire over its media payload
// bytes (UDP payload bytes for cross traffic) while it was active: the
// factor that takes an encoder rate or GCC's estimate, which count
// payload bytes (pion's feedback adapter takes len(payload)), into the
// capacity's units. 1 when nothing was sent.
func (st *flowState) wireRatio() float64 {
	var w, s float64
	for i, t := range st.series.t {
		if st.active(t - sampleEvery.Seconds()/2) {
			w, s = w+st.series.wire[i], s+st.series.payload[i]
		}
	}
	if w == 0 || s == 0 {
		return 1
	}
	return w / s
}

// windowed averages a 100 ms series over windows of width seconds from 0.
func (st *flowState) windowed(vs []float64, width float64) []analysis.Point {
	mid := make([]analysis.Point, len(vs))
	for i, v := range vs {
		mid[i] = analysis.Point{T: st.series.t[i] - sampleEvery.Seconds()/2, V: v}
	}
	if len(mid) == 0 {
		return nil
	}
	return analysis.WindowMeans(mid, 0, mid[len(mid)-1].T+sampleEvery.Seconds()/2+1e-9, width)
}

func (r *flowRun) linkMetrics(link string) reports.BottleneckLink {
	out := reports.BottleneckLink{Name: link, Flows: []string{}}
	var onLink []*flowState
	for _, st := range r.flows {
		if st.link == link {
			onLink = append(onLink, st)
			out.Flows = append(out.Flows, st.in.ID)
		}
	}
	h := r.hopByName(link)
	var sent, capacity []float64
	tcp := slices.ContainsFunc(onLink, func(st *flowState) bool { return st.in.Kind == scenarios.FlowTCP })
	if len(onLink) > 0 && !tcp {
		// The media's (video and audio) rate on the wire, in the
		// capacity's IP bytes (wireTap), while a media flow is active.
		for i, t := range onLink[0].series.t {
			if !slices.ContainsFunc(onLink, func(st *flowState) bool { return st.isMedia() && st.active(t-0.05) }) {
				continue
			}
			var v float64
			for _, st := range onLink {
				if st.isMedia() {
					v += st.series.wire[i]
				}
			}
			sent = append(sent, v)
			capacity = append(capacity, float64(r.s.LinkAt(h.participant, h.dir, secs(t-0.05)).Rate)/1000)
		}
	}
	// RFC 8868 section 3 item 10: utilization is useful only when the
	// media is alone or among similar flows, so not beside TCP (null).
	out.Utilization = opt(analysis.Utilization(sent, capacity))
	chs := r.linkChanges(link, onLink)
	out.Fairness1s = opt(r.fairness(onLink, chs, analysis.FairnessWindows[0]))
	out.Fairness5s = opt(r.fairness(onLink, chs, analysis.FairnessWindows[1]))
	out.Fairness20s = opt(r.fairness(onLink, chs, analysis.FairnessWindows[2]))
	return out
}

// media reports whether a flow is media in RFC 8867 section 4.3's sense:
// GCC video or CBR audio.
func (st *flowState) isMedia() bool {
	return st.in.Kind == scenarios.FlowMedia || st.in.Kind == scenarios.FlowAudio
}

// linkChanges are the times a link's conditions change: its capacity
// steps and every flow on it starting, stopping, pausing or resuming.
func (r *flowRun) linkChanges(link string, onLink []*flowState) []float64 {
	var out []float64
	h := r.hopByName(link)
	for _, p := range r.s.Participants {
		if p.Name != h.participant {
			continue
		}
		for _, sc := range p.Schedule {
			if sc.Dir == h.dir {
				out = append(out, sc.At.Seconds())
			}
		}
	}
	for _, st := range onLink {
		out = append(out, st.in.Start.Seconds(), st.in.StopAt.Seconds())
		for _, p := range st.in.Pause {
			out = append(out, p.At.Seconds(), p.Resume.Seconds())
		}
	}
	return out
}

// fairness is RFC 8868 section 3 item 7's self-fairness among the
// congestion-controlled media flows of a link: in every window of width
// seconds within a static period (analysis.StaticWindows) where at least
// two of them are active, the ratio of the smallest mean throughput to
// the largest; their mean over the windows (the document asks for the
// ratios and leaves the summary open). NaN with fewer than two such flows
// at any time.
func (r *flowRun) fairness(onLink []*flowState, changes []float64, width float64) float64 {
	var cc []*flowState
	for _, st := range onLink {
		if st.in.Kind == scenarios.FlowMedia {
			cc = append(cc, st)
		}
	}
	if len(cc) < 2 {
		return math.NaN()
	}
	var sum float64
	var n int
	for _, w := range analysis.StaticWindows(changes, 0, r.s.Duration.Seconds(), width) {
		var vs [][]float64
		for _, st := range cc {
			if !st.active(w[0]) || !st.active(w[1]-0.01) {
				continue
			}
			m := analysis.WindowMeans(st.windowed(st.series.recv, sampleEvery.Seconds()), w[0], w[1], width)
			if len(m) == 1 {
				vs = append(vs, []float64{m[0].V})
			}
		}
		if len(vs) >= 2 {
			sum += analysis.ThroughputRatio(vs)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// checks evaluates the expect entries of a flows scenario.
func (r *flowRun) checks(bw *reports.Bandwidth) []analysis.Check {
	out := []analysis.Check{}
	var starts []int // out[starts[i]:] came from Expect[i]
	for _, e := range r.s.Expect {
		starts = append(starts, len(out))
		b := analysis.Bound{}
		if e.Min != nil {
			b.Min = &e.Min.Value
		}
		if e.Max != nil {
			b.Max = &e.Max.Value
		}
		n := 0
		if scenarios.LinkMetric(e.Metric) {
			for _, l := range bw.Links {
				if e.Flow != "" && !slices.ContainsFunc(l.Flows, func(f string) bool { return matchFlow(f, e.Flow) }) {
					continue
				}
				n++
				out = append(out, analysis.Evaluate(e.Metric+" "+l.Name, linkValue(l, e.Metric), b))
			}
		} else {
			for _, f := range bw.Flows {
				if e.Flow == "" && f.Kind != scenarios.FlowMedia || e.Flow != "" && !matchFlow(f.Name, e.Flow) {
					continue
				}
				n++
				c := analysis.Evaluate(e.Metric+" "+f.Name, flowValue(f, e.Metric), b)
				if censored(f, e.Metric) && c.Value != nil {
					// A time that ran into the next change is a lower
					// bound: it says nothing against a maximum.
					c.Verdict = analysis.Fail
					c.Reason = fmt.Sprintf("did not converge before the next change (more than %s s)", strconv.FormatFloat(*c.Value, 'g', 4, 64))
				}
				out = append(out, c)
			}
		}
		if n == 0 {
			out = append(out, analysis.Evaluate(fmt.Sprintf("%s %s (nothing matched)", e.Metric, orAll(e.Flow)), math.NaN(), b))
		}
	}
	return r.s.Declare(out, starts)
}

// matchFlow reports whether a flow name is sel or a copy of it (sel-k).
func matchFlow(name, sel string) bool {
	if name == sel {
		return true
	}
	rest, ok := strings.CutPrefix(name, sel+"-")
	if !ok || rest == "" {
		return false
	}
	return strings.Trim(rest, "0123456789") == ""
}

// censored reports whether a flow's time metric is only a lower bound.
func censored(f reports.BandwidthFlow, metric string) bool {
	switch metric {
	case "ramp_up_s":
		return f.RampUpS != nil && !f.RampUpConverged
	case "convergence_s":
		return f.ConvergenceS != nil && !f.ConvergedAll
	}
	return false
}

func linkValue(l reports.BottleneckLink, metric string) float64 {
	switch metric {
	case "utilization":
		return val(l.Utilization)
	case "fairness_1s":
		return val(l.Fairness1s)
	case "fairness_5s":
		return val(l.Fairness5s)
	case "fairness_20s":
		return val(l.Fairness20s)
	}
	return math.NaN()
}

func flowValue(f reports.BandwidthFlow, metric string) float64 {
	switch metric {
	case "rate_kbps":
		return f.RateKbps
	case "ramp_up_s":
		return val(f.RampUpS)
	case "convergence_s":
		return val(f.ConvergenceS)
	case "oscillation":
		return val(f.Oscillation)
	case "oscillations":
		return val(f.Oscillations)
	case "feedback_kbps":
		return val(f.FeedbackKbps)
	case "packets_sent":
		return float64(f.PacketsSent)
	case "packets_received":
		return float64(f.PacketsReceived)
	case "queue_delay_p50_ms":
		return val(f.QueueDelayP50MS)
	case "queue_delay_p95_ms":
		return val(f.QueueDelayP95MS)
	case "loss_fraction":
		return val(f.LossFraction)
	case "residual_loss_fraction":
		return val(f.ResidualLossFraction)
	case "estimate_overshoot":
		return val(f.EstimateOvershoot)
	case "rate_vs_reference":
		return val(f.RateVsReference)
	case "queue_delay_p95_vs_reference_ms":
		return val(f.QueueDelayP95VsReferenceMS)
	}
	return math.NaN()
}

func nanZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// secs converts scenario seconds to a duration.
func secs(t float64) time.Duration { return time.Duration(t * float64(time.Second)) }
