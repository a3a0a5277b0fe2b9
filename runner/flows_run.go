package runner

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/probes"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/flow"
)

// trafficFlow is what the runner needs of every kind of flow.
type trafficFlow interface {
	Counters() flow.Counters
	TakeDelays() []flow.Delay
	Close() error
}

// flowState is one flow while it runs.
type flowState struct {
	in     scenarios.FlowInstance
	f      trafficFlow
	media  *flow.Media
	phase  time.Duration // offset of its periodic timers, see stagger
	link   string        // bottleneck name, "" when none
	hops   []hop         // the limited and delayed links of its path
	series flowSeries
	qdelay []float64 // every packet's queueing delay, ms
	loss   flow.Loss
	// counters are the flow's packet and byte counts once packets in
	// flight have arrived.
	counters flow.Counters
	// sentLog and recvLog are its RFC 8868 packet records (RTPLogDir).
	sentLog, recvLog []flow.PacketRecord
	// wireBytes counts the IP bytes its sender put on the network
	// (wireTap); wirePrev is the count at the last sample.
	wireBytes atomic.Uint64
	wirePrev  uint64
	// wireRecvBytes counts the same at its receiver, after the links.
	wireRecvBytes atomic.Uint64
	wireRecvPrev  uint64
	// ratio is wireRatio, once the run is over.
	ratio float64
}

// hop is one direction of a participant's access link.
type hop struct {
	participant string
	dir         netem.Direction
}

func (h hop) String() string { return h.participant + " " + string(h.dir) }

// flowSeries are a flow's raw 100 ms samples, for the metrics.
type flowSeries struct {
	t        []float64 // scenario seconds
	send     []float64 // kbps over the last 100 ms
	recv     []float64
	estimate []float64
	send1s   []float64 // kbps over the last second
	// wire and wire1s are the sending rate in IP packet bytes, the
	// capacity's units (wireTap), over the last 100 ms and second;
	// payload the media payload rate (the encoder's and GCC's units);
	// wireRecv the rate on the wire at the receiver.
	wire, wire1s, payload, wireRecv []float64
}

// flowRun is one run of a flows scenario.
type flowRun struct {
	s     *scenarios.Scenario
	opt   Options
	rec   *probes.Recorder
	net   netem.Backend
	flows []*flowState
	t0    time.Time // scenario time zero
	ended time.Duration
	links []string // bottleneck links, in first-use order
	// ref is the reference run's outcome (Scenario.Reference), nil
	// without one.
	ref *reports.BandwidthReference
	// tap counts each flow's bytes on the wire.
	tap wireTap
	// settle lets GCC's goroutines finish after each feedback (virtual
	// clock only; see flow.MediaParams.Settle).
	settle func()
}

// Timer phases. Every periodic timer of a flows run has a period that is
// a multiple of 5 ms (GCC's pacer ticks every 5 ms, frames every 40 ms at
// 25 fps, the sampler every 100 ms), so each flow gets its own phase
// within the 5 ms grid: pacer at phase, sources at phase + 2.5 ms, the
// sampler at 0. Two timers then never fire at one virtual instant, where
// the scheduler would pick their order and two runs could differ.
const (
	phaseBase   = 100 * time.Microsecond
	phaseStep   = 37 * time.Microsecond
	sourceShift = 2500 * time.Microsecond
	iceShift    = 1700 * time.Microsecond

	flowPort = 5000
)

func stagger(i int) time.Duration { return phaseBase + time.Duration(i)*phaseStep }

// runFlows runs a flows scenario (see Run).
func runFlows(ctx context.Context, s *scenarios.Scenario, opt Options) (*reports.Report, error) {
	if opt.Clock == "" {
		opt.Clock = ClockReal
	}
	wall := time.Now()
	r := &flowRun{s: s, opt: opt}
	var refErr error
	if rs := s.ReferenceScenario; rs != nil {
		// RFC 8867 section 5.3: the run is compared with the reference
		// case, run first with the same clock; it writes no files of its
		// own and reports no progress.
		ro := Options{Clock: opt.Clock, Interrupt: opt.Interrupt, Log: opt.Log, Tool: opt.Tool}
		rr, err := runFlows(ctx, rs, ro)
		if err != nil {
			refErr = fmt.Errorf("reference %s: %w", rs.Name, err)
		} else {
			r.ref = &reports.BandwidthReference{Scenario: rs.Name, File: rs.File, Links: rr.Bandwidth.Links, Flows: rr.Bandwidth.Flows}
		}
	}
	if opt.Clock == ClockVirtual {
		// One settler at a time: synctest.Wait must not be called
		// concurrently, and a goroutine blocked on this channel counts
		// as idle for the one that waits. The settler is GCC's feedback
		// reader, a goroutine of the bubble that hosts the run.
		turn := make(chan struct{}, 1)
		r.settle = func() {
			turn <- struct{}{}
			defer func() { <-turn }()
			synctest.Wait()
		}
	}
	err := refErr
	if err == nil {
		err = r.exec(ctx)
	}
	if opt.RTPLogDir != "" {
		err = errors.Join(err, r.writeRTPLogs(opt.RTPLogDir))
	}
	rep := r.report()
	rep.StartedAt = wall.UTC().Format(time.RFC3339)
	rep.WallSeconds = round(time.Since(wall).Seconds(), 3)
	if err != nil {
		rep.Partial = true
		rep.Error = err.Error()
		rep.Verdict = "fail"
	}
	return rep, err
}

func (r *flowRun) event(source, kind, detail string) {
	if r.rec != nil {
		r.rec.Event(time.Now(), source, kind, detail)
	}
}

func (r *flowRun) exec(parent context.Context) (err error) {
	s := r.s
	hosts := make([]netem.HostConfig, len(s.Participants))
	for i, p := range s.Participants {
		hosts[i] = p.Resolved
	}
	cfg := netem.Config{Seed: s.Seed, Hosts: hosts, Stagger: phase.SocketStagger.For(r.opt.Clock == ClockVirtual)}
	caps := map[string]*netem.Capture{}
	if dir := r.opt.CaptureDir; dir != "" {
		var closeCaps func()
		if caps, closeCaps, err = openCaptures(dir, participantNames(s)); err != nil {
			return err
		}
		defer closeCaps()
	}
	cfg.Capture = func(host string) *netem.Capture {
		return netem.Observe(caps[host], func(p netem.Packet) { r.tap.observe(host, p) })
	}
	nw, _, err := buildNetwork(s, r.opt.Clock, cfg, r.opt.Log)
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	r.net = nw
	defer func() {
		if e := nw.Close(); e != nil && err == nil {
			err = e
		}
	}()
	base := time.Now()
	// Until t0 is known, events are stamped from base.
	r.rec = probes.NewRecorder(base, r.opt.Events)
	for i, in := range s.FlowInstances {
		st := &flowState{in: in, phase: stagger(i)}
		st.hops, st.link = r.path(in)
		time.Sleep(time.Until(base.Add(st.phase)))
		if st.f, err = r.newFlow(i, st); err != nil {
			r.closeFlows()
			return err
		}
		r.flows = append(r.flows, st)
		if st.link != "" && !slices.Contains(r.links, st.link) {
			r.links = append(r.links, st.link)
		}
	}
	defer func() {
		if e := r.closeFlows(); e != nil && err == nil {
			err = e
		}
	}()
	connectCtx, cancelConnect := context.WithTimeout(parent, 30*time.Second)
	for _, st := range r.flows {
		if st.media != nil {
			// ICE's timers start with the negotiation: give each flow's
			// their own phase too (see stagger), on the next whole second.
			next := base.Add(time.Since(base).Truncate(time.Second) + time.Second)
			time.Sleep(time.Until(next.Add(st.phase + iceShift)))
			if err := st.media.Connect(connectCtx); err != nil {
				cancelConnect()
				return err
			}
		}
	}
	cancelConnect()
	// Scenario time zero: a whole number of seconds after base, so it
	// keeps every flow's phase.
	r.t0 = base.Add(time.Since(base).Truncate(time.Second) + time.Second)
	time.Sleep(time.Until(r.t0))
	r.rec = probes.NewRecorder(r.t0, r.opt.Events)
	r.event("runner", "started", fmt.Sprintf("%d flows connected", len(r.flows)))

	ctx, cancel := context.WithCancel(parent)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	errs := make(chan error, len(r.flows))
	for _, st := range r.flows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.runFlow(ctx, st); err != nil {
				r.event(st.in.ID, "error", err.Error())
				errs <- err
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		applySchedules(ctx, r.s, r.net, r.t0, r.event)
	}()
	err = r.timeline(ctx)
	r.ended = time.Since(r.t0)
	if err == nil {
		// Let packets in flight and their repairs arrive.
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
		}
	}
	for _, st := range r.flows {
		st.qdelay = append(st.qdelay, r.queueDelays(st)...)
		st.counters = st.f.Counters()
		if pl, ok := st.f.(packetLogger); ok {
			st.sentLog, st.recvLog = pl.PacketLog()
		}
		if st.media != nil {
			st.loss = st.media.Loss(r.t0.Add(st.in.StopAt))
		}
	}
	cancel()
	wg.Wait()
	select {
	case e := <-errs:
		if err == nil {
			err = e
		}
	default:
	}
	return err
}

// path finds the limited links a flow crosses: the sender's uplink, then
// the receiver's downlink. The bottleneck is the first with a rate limit
// at any time of the scenario.
func (r *flowRun) path(in scenarios.FlowInstance) ([]hop, string) {
	hops := []hop{{in.From, netem.Uplink}, {in.To, netem.Downlink}}
	for _, h := range hops {
		if r.limited(h) {
			return hops, h.String()
		}
	}
	return hops, ""
}

func (r *flowRun) limited(h hop) bool {
	for _, p := range r.s.Participants {
		if p.Name != h.participant {
			continue
		}
		imp := p.Resolved.Uplink
		if h.dir == netem.Downlink {
			imp = p.Resolved.Downlink
		}
		if imp.Rate > 0 {
			return true
		}
		for _, sc := range p.Schedule {
			if sc.Dir == h.dir && sc.Imp.Rate > 0 {
				return true
			}
		}
	}
	return false
}

func (r *flowRun) newFlow(i int, st *flowState) (trafficFlow, error) {
	in := st.in
	from, _ := r.net.Host(in.From)
	to, _ := r.net.Host(in.To)
	seed := uint64(r.s.Seed)*0x9E3779B97F4A7C15 ^ hashName(in.ID)
	switch in.Kind {
	case scenarios.FlowMedia:
		p := flow.MediaParams{Name: in.ID, SendNet: from.Net, RecvNet: to.Net, Codec: in.CodecParams(), Seed: seed, Settle: r.settle, LogPackets: r.opt.RTPLogDir != "", Virtual: r.opt.Clock == ClockVirtual}
		if in.StartRate != nil {
			p.InitialRate = int(in.StartRate.BitsPerSecond)
		}
		m, err := flow.NewMedia(p)
		if err != nil {
			return nil, err
		}
		st.media = m
		r.tap.add(m.SSRC(), from.IP, st)
		return m, nil
	}
	ep := flow.Endpoints{
		SendNet: from.Net, RecvNet: to.Net,
		SendAddr: fmt.Sprintf("%s:%d", from.IP, flowPort+i),
		RecvAddr: fmt.Sprintf("%s:%d", to.IP, flowPort+i),
		SSRC:     uint32(hashName(in.ID)),
	}
	r.tap.add(ep.SSRC, from.IP, st)
	if in.Constant() {
		c, err := flow.NewCBR(in.ID, ep, in.CBRRate(), in.CBRPacket())
		if err == nil && r.opt.RTPLogDir != "" {
			c.LogPackets()
		}
		return c, err
	}
	p := flow.TCPParams{Endpoints: ep, Seed: seed}
	if fs := in.Files; fs != nil {
		p.Files, p.MinFile, p.MaxFile, p.MeanOff, p.StartOff = true, fs.Min.Bytes, fs.Max.Bytes, fs.MeanOff.Duration, !in.DownloadFirst
	}
	return flow.NewTCP(in.ID, p)
}

func hashName(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// runFlow sends from the flow's start to its stop.
func (r *flowRun) runFlow(ctx context.Context, st *flowState) error {
	start := r.t0.Add(st.in.Start.Duration + st.phase + sourceShift)
	stop := r.t0.Add(st.in.StopAt)
	r.event(st.in.ID, "scheduled", fmt.Sprintf("%s %s -> %s from %v to %v", st.in.Kind, st.in.From, st.in.To, st.in.Start.Duration, st.in.StopAt))
	switch f := st.f.(type) {
	case *flow.Media:
		var pauses []flow.Pause
		for _, p := range st.in.Pause {
			pauses = append(pauses, flow.Pause{From: r.t0.Add(p.At.Duration), To: r.t0.Add(p.Resume.Duration)})
		}
		return f.Run(ctx, start, stop, pauses)
	case *flow.CBR:
		return f.Run(ctx, start, stop)
	case *flow.TCP:
		return f.Run(ctx, start, stop)
	}
	return nil
}

// closeFlows closes every flow (PeerConnections and sockets).
func (r *flowRun) closeFlows() error {
	var first error
	for _, st := range r.flows {
		if st.f == nil {
			continue
		}
		if err := st.f.Close(); err != nil && first == nil {
			first = err
		}
		st.f = nil
	}
	return first
}

// timeline samples every 100 ms until the scenario's duration has passed
// (runTimeline keeps the samples off the instants of arrivals).
func (r *flowRun) timeline(ctx context.Context) error {
	prev := make([]flow.Counters, len(r.flows))
	return runTimeline(ctx, r.t0, r.s.Duration.Duration, gcEvery(0), r.opt, r.event, func(now time.Time, elapsed time.Duration) {
		r.sample(now, prev)
	})
}

// sample records one 100 ms step of every series.
func (r *flowRun) sample(now time.Time, prev []flow.Counters) {
	t := now.Sub(r.t0)
	dt := sampleEvery.Seconds()
	for _, link := range r.links {
		h := r.hopByName(link)
		r.rec.Sample(now, "capacity "+link, "capacity_kbps", "kbps", float64(r.s.LinkAt(h.participant, h.dir, t).Rate)/1000)
	}
	// Copies of a counted flow (ten short TCP flows) are drawn as one
	// line, their sum: ten lines would hide the media.
	type group struct {
		name       string
		send, recv float64
	}
	var groups []*group
	byName := map[string]*group{}
	for i, st := range r.flows {
		c := st.f.Counters()
		fs := &st.series
		fs.t = append(fs.t, round(t.Seconds(), 3))
		send := float64(c.SentBytes-prev[i].SentBytes) * 8 / dt / 1000
		recv := float64(c.ReceivedBytes-prev[i].ReceivedBytes) * 8 / dt / 1000
		payload := float64(c.SentPayloadBytes-prev[i].SentPayloadBytes) * 8 / dt / 1000
		prev[i] = c
		fs.send = append(fs.send, send)
		fs.payload = append(fs.payload, payload)
		fs.recv = append(fs.recv, recv)
		fs.estimate = append(fs.estimate, float64(c.Estimate)/1000)
		fs.send1s = append(fs.send1s, tail(fs.send, window))
		w := st.wireBytes.Load()
		fs.wire = append(fs.wire, float64(w-st.wirePrev)*8/dt/1000)
		fs.wire1s = append(fs.wire1s, tail(fs.wire, window))
		st.wirePrev = w
		w = st.wireRecvBytes.Load()
		fs.wireRecv = append(fs.wireRecv, float64(w-st.wireRecvPrev)*8/dt/1000)
		st.wireRecvPrev = w
		name := st.in.ID
		if st.in.Index > 0 {
			name = fmt.Sprintf("%s (%d, sum)", st.in.Name, max(st.in.Count, 1))
		}
		g := byName[name]
		if g == nil {
			g = &group{name: name}
			byName[name] = g
			groups = append(groups, g)
		}
		// Drawn against the capacity: in its units, IP packet bytes.
		g.send += fs.wire1s[len(fs.wire1s)-1]
		g.recv += tail(fs.wireRecv, window)
		if st.in.Kind == scenarios.FlowMedia {
			r.rec.Sample(now, "estimate "+name, "estimate_kbps", "kbps", float64(c.Estimate)/1000)
		}
		q := r.queueDelays(st)
		st.qdelay = append(st.qdelay, q...)
		if st.longLived() || st.in.Constant() {
			v := math.NaN()
			if len(q) > 0 {
				v = round(mean(q), 2)
			}
			r.rec.Sample(now, "queue delay "+name, "queue_delay_ms", "ms", v)
		}
	}
	for _, g := range groups {
		r.rec.Sample(now, "send "+g.name, "send_kbps", "kbps", round(g.send, 3))
		r.rec.Sample(now, "receive "+g.name, "receive_kbps", "kbps", round(g.recv, 3))
	}
}

func (r *flowRun) hopByName(name string) hop {
	for _, st := range r.flows {
		for _, h := range st.hops {
			if h.String() == name {
				return h
			}
		}
	}
	return hop{}
}

// queueDelays turns the delays a flow measured since the last call into
// queueing delays: one-way delay minus the propagation delay configured
// on its path and the serialisation of the packet at each rate-limited
// link, at the time it was sent.
func (r *flowRun) queueDelays(st *flowState) []float64 {
	ds := st.f.TakeDelays()
	out := make([]float64, 0, len(ds))
	for _, d := range ds {
		at := d.Sent.Sub(r.t0)
		q := d.OWD
		for _, h := range st.hops {
			imp := r.s.LinkAt(h.participant, h.dir, at)
			q -= imp.Delay
			if imp.Rate > 0 {
				q -= time.Duration(float64(d.Size*8) / float64(imp.Rate) * float64(time.Second))
			}
		}
		out = append(out, math.Max(0, float64(q.Microseconds())/1000))
	}
	return out
}

// tail is the mean of the last n values (fewer at the start).
func tail(xs []float64, n int) float64 {
	from := max(len(xs)-n, 0)
	return mean(xs[from:])
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// udpIPHeader is the IPv4 and UDP header every datagram carries on the
// link (netem counts capacity in IP packet bytes).
const udpIPHeader = 20 + 8
