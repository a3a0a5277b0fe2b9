package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"runtime"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/probes"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/agent"
	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/sfu"
	"github.com/rtclab/rtclab/stack/signaling"
	"github.com/rtclab/rtclab/stack/turn"
)

// Clocks a run can use.
const (
	ClockVirtual = "virtual"
	ClockReal    = "real"
)

// Options are the optional parts of a run.
type Options struct {
	// Clock is recorded in the report: ClockVirtual when the caller runs
	// Run inside a synctest bubble (bubble.Run), ClockReal otherwise. With
	// ClockReal the signaling server listens on loopback TCP and the stack
	// keeps pion's timer defaults; with ClockVirtual it listens on an
	// in-memory listener, the stack takes package phase's values, and a
	// flows run settles GCC with synctest.Wait (which panics outside a
	// bubble).
	Clock string
	// Events receives every event as a JSON line as it happens.
	Events io.Writer
	// Interrupt, when set to true, ends the run early with a partial report.
	Interrupt *atomic.Bool
	// Progress is called about once per second of scenario time.
	Progress func(elapsed, total time.Duration)
	// Log receives diagnostics; nil discards.
	Log *slog.Logger
	// Tool is written into the report ("rtclab dev").
	Tool string
	// CaptureDir, when set, receives a pcap file per host (HOST.pcap) of
	// what crossed its access link.
	CaptureDir string
	// RTPLogDir, when set, receives the per-packet log of RFC 8868
	// section 3.1 of every media and audio flow (FLOW.send.tsv,
	// FLOW.recv.tsv; flows topology only).
	RTPLogDir string
	// Media, when set, keeps every received frame and receives, at the
	// end of the run, what MeasureQuality needs to compare received video
	// with its source (quality.go).
	Media *MediaCapture
	// Clips, when set, opens the media clips for this run and keeps them
	// for the next runs that share it (clip.NewLibrary(rtclab.Clips)): a
	// process that runs many calls reads and parses each clip once. Nil
	// opens them for this run alone.
	Clips *clip.Library
	// hooks let in-package tests act at chosen instants of a run
	// (glare_test.go, longcall_test.go); nil in every real run.
	hooks *testHooks
}

// testHooks are called, when set, as a run starts each agent (from the
// runner's goroutine), as the signaling server relays each message
// (before the recipient can read it), and with the heap's size in bytes
// at each point where the report may collect (truth.go's logReader,
// before collecting) and when it is done.
type testHooks struct {
	agentStarted func(name string, a *agent.Agent)
	relayed      func(signaling.Message)
	reportHeap   func(bytes uint64)
	// watchEarly: WHEP watchers join without waiting for the
	// publishers' tracks, whose slots are then filled after the answer.
	watchEarly bool
}

// Addresses of the embedded stack on the emulated internet.
const (
	turnPort   = 3478
	turnSecret = "rtclab-lab-secret"
	room       = "main"
)

// Run runs s and returns its report. The report is never nil: when the run
// cannot start or stops early, it is marked partial and says why, and the
// error is returned too.
//
// StartedAt and WallSeconds are read from time.Now, which inside a
// synctest bubble is virtual: a caller running Run in a bubble measures the
// wall clock outside it and overwrites both.
func Run(ctx context.Context, s *scenarios.Scenario, opt Options) (*reports.Report, error) {
	if s.Topology == scenarios.TopologyFlows {
		return runFlows(ctx, s, opt)
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.Clock == "" {
		opt.Clock = ClockReal
	}
	start := time.Now()
	rec := probes.NewRecorder(start, opt.Events)
	r := &run{s: s, opt: opt, log: log, rec: rec, start: start}
	err := r.exec(ctx)
	if opt.Media != nil {
		r.capture(opt.Media)
	}
	rep := r.report()
	rep.StartedAt = start.UTC().Format(time.RFC3339)
	rep.WallSeconds = round(time.Since(start).Seconds(), 3)
	// A log that could not be read back leaves its metrics unmeasured.
	err = errors.Join(err, r.readErr)
	if err != nil {
		rep.Partial = true
		rep.Error = err.Error()
		rep.Verdict = "fail"
	}
	return rep, err
}

// ErrInterrupted is returned when Options.Interrupt ended the run.
var ErrInterrupted = errors.New("interrupted")

type run struct {
	// readErr collects logs that could not be read back (readFailed).
	readMu  sync.Mutex
	readErr error

	s      *scenarios.Scenario
	opt    Options
	log    *slog.Logger
	rec    *probes.Recorder
	start  time.Time
	keyLog io.Writer // DTLS secrets, with CaptureDir

	turnSecret string // the TURN server's REST shared secret

	net    netem.Backend
	kernel *kernel.Network // the kernel backend's network, nil in-process
	agents []*agentRun
	ended  time.Duration // scenario time the media ran for

	// The embedded servers, restartable by the timeline (servers.go).
	turn      *turnService
	signaling *signalingService
	sfuSvc    *sfuService
	sfuMu     sync.Mutex
	sfu       *sfu.SFU // the latest SFU started; read with currentSFU

	// faultAt is when each timeline step (by its index in the scenario)
	// was applied: later than its `at` when the joins or a restart's
	// `for` held it back. Zero for a step not applied. Under faultMu.
	faultMu sync.Mutex
	faultAt []time.Time

	privacy  *privacyWatch  // what each party saw (privacy.go)
	whip     *whipEndpoints // the SFU's WHIP/WHEP endpoints (whip.go); nil without
	browsers *browserCalls  // Chromium participants (browser.go); nil without
	sampler  *sampler
	final    *snapshot
	// countedAt is when final was taken (wall clock, no monotonic
	// reading: compared with capture times, it cuts where verify cuts
	// the pcap files): what a browser's capture holds is counted up to
	// it, as the agents' logs are.
	countedAt time.Time
	reader    *logReader // decodes final's logs for the report (truth.go)
	media     mediaState
}

type agentRun struct {
	p     scenarios.Participant
	host  *netem.Host
	a     *agent.Agent
	start time.Time
}

func (r *run) event(source, kind, detail string) {
	r.rec.Event(time.Now(), source, kind, detail)
}

// callHosts is the network's clients: the participants' hosts. When a
// participant uses mDNS, each participant without a LAN gets one of its
// own (its home network, where its mDNS responder can listen); otherwise
// no host carries a LAN and none pays for multicast.
func callHosts(s *scenarios.Scenario) []netem.HostConfig {
	hosts := make([]netem.HostConfig, len(s.Participants))
	mdns := false
	for i, p := range s.Participants {
		hosts[i] = p.Resolved
		mdns = mdns || p.MDNS
	}
	for i := range hosts {
		if mdns && hosts[i].LAN == "" {
			hosts[i].LAN = hosts[i].Name + "/home" // no lan: a scenario declares can hold "/"
		}
	}
	return hosts
}

// exec sets the stack up, runs the timeline and tears everything down in
// the order pion needs: agents and SFU (PeerConnections), then TURN, then
// signaling, then the network.
func (r *run) exec(parent context.Context) (err error) {
	s := r.s
	cfg := netem.Config{Seed: s.Seed, Servers: []string{scenarios.TURNHost, scenarios.SFUHost}, Hosts: callHosts(s),
		Stagger: phase.SocketStagger.For(r.opt.Clock == ClockVirtual)}
	r.privacy = newPrivacyWatch()
	cfg.Capture = r.privacy.observe(nil) // every host observed (privacy.go)
	if dir := r.opt.CaptureDir; dir != "" {
		caps, closeCaps, err := openCaptures(dir, append([]string{scenarios.TURNHost, scenarios.SFUHost}, participantNames(s)...))
		if err != nil {
			return err
		}
		defer closeCaps()
		cfg.Capture = r.privacy.observe(caps)
		kl, err := reports.CreateFile(filepath.Join(dir, KeyLogFile))
		if err != nil {
			return fmt.Errorf("key log: %w", err)
		}
		defer kl.Close() // renamed to its final name: a crash leaves none
		r.keyLog = &lockedWriter{w: kl}
	}
	r.observeBrowserCalls(&cfg)
	nw, err := r.newNetwork(cfg)
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	r.net = nw
	r.privacy.learnHosts(nw)
	r.browsers.learnHosts(nw)
	defer func() {
		if e := nw.Close(); e != nil && err == nil {
			err = e
		}
	}()

	th, _ := nw.Host(scenarios.TURNHost)
	turnAddr := fmt.Sprintf("%s:%d", th.IP, turnPort)
	switch s.TURNKind() {
	case scenarios.TURNEmbedded:
		tcfg := turn.Config{Net: th.Net, RelayIP: th.IP, UDPAddr: turnAddr, Secret: turnSecret, Logger: r.log}
		if s.UseTURNTCP() {
			tcfg.TCPAddr = turnAddr
		}
		ts, err := newTURNService(tcfg)
		if err != nil {
			return err
		}
		r.turn = ts
		defer func() { _, _ = ts.stop() }()
	case scenarios.TURNCoturn:
		ct, err := startCoturn(parent, r.kernel, scenarios.TURNHost, th.Net, th.IP, turnPort, turnSecret, r.opt.CaptureDir,
			func(err error) { r.event("turn", "crashed", fmt.Sprintf("coturn exited: %v", err)) })
		if err != nil {
			return err
		}
		defer ct.stop() // by PID, after the agents (deferred later) have closed
		r.event("turn", "started", "coturn pid "+strconv.Itoa(ct.cmd.Process.Pid)+" in "+th.IP.String())
	}
	fwd, err := r.forwardTURN()
	if err != nil {
		return err
	}
	if fwd != nil {
		defer fwd.Close() // after the agents (deferred later) have closed
	}
	turnAddr, r.turnSecret = r.turnTarget(turnAddr)
	if fwd != nil {
		r.event("turn", "started", "forwarding "+turnAddr+" to "+s.Servers.TURN.URL)
	}

	relayed := r.privacy.signaled
	if h := r.opt.hooks; h != nil && h.relayed != nil {
		relayed = func(m signaling.Message) { r.privacy.signaled(m); h.relayed(m) }
	}
	sig, err := newSignalingService(r.log, r.opt.Clock == ClockVirtual, relayed, signaling.MDNSMode(s.Servers.Signaling.MDNS))
	if err != nil {
		return err
	}
	r.signaling = sig
	defer sig.stop()
	sigURL, httpClient := sig.url, sig.client

	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // runs before wg.Wait

	if s.Topology == "sfu" && s.SFUKind() != scenarios.SFUExternal {
		sh, _ := nw.Host(scenarios.SFUHost)
		r.sfuSvc = &sfuService{r: r, wg: &wg, params: sfu.Params{Net: sh.Net, SignalURL: sigURL, HTTPClient: httpClient, Log: r.log, KeyLog: r.keyLog,
			Rejoin:  len(s.Timeline) > 0,
			Virtual: r.opt.Clock == ClockVirtual,
			OnMedia: r.privacy.decrypted,
			OnEvent: func(kind, peer, detail string) {
				if peer != "" {
					detail = peer + ": " + detail // read back by measurePresence
				}
				r.event("sfu", kind, detail)
			}}}
		if err := r.sfuSvc.start(ctx); err != nil {
			return err
		}
		r.event("sfu", "started", sh.IP.String())
	}
	if s.OverHTTP() {
		stopHTTP, err := r.serveWHIP(ctx) // whip.go
		if err != nil {
			return err
		}
		defer stopHTTP()
	}

	// Links follow the scenario's clock from its start, whatever the
	// joins below take: a WHEP watcher waits up to 10 s for the
	// publishers' tracks, and a schedule (or flap) started after the
	// joins applied every step due by then at once (an 8 s flap at 6 s
	// went down at 10.4 s and came back at 15 s).
	wg.Add(1)
	go func() {
		defer wg.Done()
		applySchedules(ctx, r.s, r.net, r.start, r.event)
	}()

	clips, err := openClips(r.opt.Clips, s.Participants)
	if err != nil {
		return err
	}
	defer r.closeBrowsers() // by PID, before the SFU, TURN and the network
	for i, p := range r.joinOrder() {
		if i > 0 {
			// One at a time: the SFU's PeerConnections, sockets and
			// ports then go to participants in order.
			time.Sleep(phase.JoinStagger.For(r.opt.Clock == ClockVirtual))
		}
		h, _ := nw.Host(p.Name)
		ice, err := r.iceServers(turnAddr, p.Name, th.IP.String())
		if err != nil {
			return err
		}
		if p.IsChromium() {
			if err := r.startChromium(ctx, &wg, p, h, ice, cancel); err != nil {
				return err
			}
			r.event(p.Name, "joined", fmt.Sprintf("%s behind %s NAT (public %s)", h.IP, p.NAT, h.PublicIP))
			continue
		}
		pub, simulcast := publishedClips(p, clips)
		r.privacy.published(slices.Concat(pub, simulcast)...)
		name := p.Name
		if s.OverHTTP() && len(p.Publish) == 0 {
			r.waitBeforeWatching(ctx) // whip.go: before its join, not part of its time to connect
		}
		ar := &agentRun{p: p, host: h, start: time.Now()}
		params := agent.Params{
			Name: name, Room: room, Topology: s.Topology, SFUName: sfu.Name,
			Net: h.Net, SignalURL: sigURL, HTTPClient: httpClient,
			ICEServers: ice, RelayOnly: s.ICE.RelayOnly, MDNS: p.MDNS, Publish: pub, Log: r.log,
			Simulcast: simulcast, Codecs: p.Codecs, RecordMedia: r.opt.Media != nil,
			Until:   r.start.Add(s.Duration.Duration),
			KeyLog:  r.keyLog,
			Rejoin:  len(s.Timeline) > 0, // a call without faults runs as before
			Virtual: r.opt.Clock == ClockVirtual,
			OnEvent: func(kind, detail string) { r.event(name, kind, detail) },
			E2EE:    agentE2EE(p.E2EE, i, r.start),
		}
		var a *agent.Agent
		if s.OverHTTP() {
			a, err = r.startOverHTTP(ctx, params) // whip.go
		} else {
			a, err = agent.Start(ctx, params)
		}
		if err != nil {
			return err
		}
		ar.a = a
		r.agents = append(r.agents, ar)
		if h := r.opt.hooks; h != nil && h.agentStarted != nil {
			h.agentStarted(name, a)
		}
		defer a.Close() // deferred: closed before the SFU, TURN and network
		r.event(name, "joined", fmt.Sprintf("%s behind %s NAT (public %s)", h.IP, p.NAT, h.PublicIP))
	}

	// Deferred last, so it runs first: every loop stops before any
	// PeerConnection closes, and a leaving peer is not renegotiated.
	defer cancel()
	if s.OverHTTP() {
		defer r.endSessions() // whip.go: while the SFU still answers
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		r.applyFaults(ctx)
	}()

	r.sampler = newSampler(r)
	err = r.timeline(ctx)
	r.ended = time.Since(r.start)
	if err == nil {
		r.stopBrowserMedia()
		// Publishing stopped at the scenario's end; let packets in flight
		// and their repairs arrive before the final count.
		select {
		case <-time.After(drain):
		case <-ctx.Done():
		}
	}
	r.countedAt = time.Now().Round(0) // the wall clock only, as a capture's timestamps (and verify's cut)
	r.final = r.sampler.snapshot()
	if e := r.browsers.failure(); e != nil {
		err = e
	}
	return err
}

// drain is how long after the last frame the final statistics are read:
// longer than any configured delay plus a NACK round trip.
const drain = time.Second

// timeline samples every analysis resolution step until the scenario's
// duration has passed, the context ends, or the user interrupts.
func (r *run) timeline(ctx context.Context) error {
	return runTimeline(ctx, r.start, r.s.Duration.Duration, gcEvery(len(r.s.Participants)), r.opt, r.event, func(now time.Time, _ time.Duration) {
		r.sampler.sample(now)
	})
}

// gcEvery is how often a virtual-time run of n participants collects
// garbage: every 30 s of scenario time for a call of up to four, every
// 2 s for a larger room (a flow run: every second). The host of the
// bubble (package bubble) switches the automatic collector off, because a
// collection that starts at an arbitrary point preempts whatever runs and
// reorders goroutines woken at one instant; collections at instants that
// depend on the scenario alone (never on the process's heap, which other
// runs before it in the same process shaped) repeat from run to run. A
// collection every second took a fifth of a quickstart run's CPU (30
// collections of a 20 MB heap), one every 5 s still 7 % of its
// instructions (callgrind, issue #19); a call allocates under 2 MB a
// second, so 30 s of garbage is some 50 MB (rtclab bench's peak heap
// shows it). A larger room allocates 50-70 MB a second and needs them:
// every 2 s takes the collector's CPU in a conference-10 run from 0.49 s
// (every second) to 0.29 s for 7-8 % more peak memory (process RSS of
// conference-10 259 -> 277 MB, webinar-50 317 -> 343 MB); every 5 s,
// 0.17 s for 40 % more (363 and 438 MB); the automatic collector at GOGC
// 400 took as much memory (393-545 MB) and would make runs differ
// (docs/bench.md). Every run also collects as its call ends
// (runTimeline): matrix cells last 5 s, and without it their garbage
// piled up until the bubble's 4 GiB memory limit collected at an
// arbitrary instant, which moved a cell's NAT ports in
// TestMatrixRepeatsExactly.
func gcEvery(n int) time.Duration {
	if n > 0 && n <= 4 {
		return 30 * time.Second
	}
	if n > 4 {
		return 2 * time.Second
	}
	return time.Second
}

// runTimeline calls sample every sampleEvery, with the scenario time
// elapsed since start, until total has passed (nil), ctx ends, or
// Options.Interrupt is set (ErrInterrupted). It reports progress about
// once a second of scenario time.
//
// The samples fall phase.SampleOffset after whole steps of scenario time,
// off the instants of arrivals, whatever the setup before took: a series
// point at T (rounded to the millisecond) then counts what arrived by
// start+T, as a recount from the captures does (package verify). Started
// an offset after the setup instead, a virtual-time call sampled 23 µs
// late and counted the packets a trace link delivered in those 23 µs
// (issue #10, trace-dip).
func runTimeline(ctx context.Context, start time.Time, total, collectEvery time.Duration, opt Options,
	event func(source, kind, detail string), sample func(now time.Time, elapsed time.Duration)) error {
	time.Sleep(time.Until(firstStep(start, time.Now())))
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	var lastProgress time.Duration
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped at %.1fs: %w", time.Since(start).Seconds(), ctx.Err())
		case now := <-tick.C:
			elapsed := now.Sub(start).Truncate(time.Microsecond)
			sample(now, elapsed)
			if opt.Clock == ClockVirtual && (elapsed%collectEvery < sampleEvery || elapsed >= total) {
				runtime.GC() // see gcEvery
			}
			if opt.Interrupt != nil && opt.Interrupt.Load() {
				event("runner", "interrupted", fmt.Sprintf("at %.1fs", elapsed.Seconds()))
				return fmt.Errorf("stopped at %.1fs of %v: %w", elapsed.Seconds(), total, ErrInterrupted)
			}
			if opt.Progress != nil && elapsed-lastProgress >= time.Second {
				lastProgress = elapsed
				opt.Progress(elapsed, total)
			}
			if elapsed >= total {
				return nil
			}
		}
	}
}

// firstStep is the first instant at or after now that lies
// phase.SampleOffset after a whole number of sampling steps from start;
// the ticker started there samples one step later, and every step on.
func firstStep(start, now time.Time) time.Time {
	at := start.Add(phase.SampleOffset.Value())
	if late := now.Sub(at); late > 0 {
		at = at.Add((late + sampleEvery - 1) / sampleEvery * sampleEvery)
	}
	return at
}

func (r *run) iceServers(turnAddr, user, _ string) ([]webrtc.ICEServer, error) {
	var out []webrtc.ICEServer
	if r.s.UseSTUN() {
		out = append(out, webrtc.ICEServer{URLs: []string{"stun:" + turnAddr}})
	}
	if r.s.UseTURN() {
		u, p, err := turn.Credentials(r.turnSecret, user, r.s.Duration.Duration+time.Hour)
		if err != nil {
			return nil, fmt.Errorf("turn credentials: %w", err)
		}
		urls := []string{"turn:" + turnAddr + "?transport=udp"}
		if r.s.UseTURNTCP() {
			urls = append(urls, "turn:"+turnAddr+"?transport=tcp")
		}
		out = append(out, webrtc.ICEServer{URLs: urls, Username: u, Credential: p})
	}
	return out, nil
}

func participantNames(s *scenarios.Scenario) []string {
	var out []string
	for _, p := range s.Participants {
		out = append(out, p.Name)
	}
	return out
}

// KeyLogFile is the DTLS key log written next to the captures, in the NSS
// key log format: Wireshark decrypts DTLS with it (Preferences, Protocols,
// TLS, (Pre)-Master-Secret log filename), e.g. data channels.
const KeyLogFile = "dtls-keys.log"

// lockedWriter serialises writes from many PeerConnections.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// openCaptures starts DIR/HOST.pcap for every host. Each is written under
// a temporary name while the run goes and renamed when closeAll closes
// it, so a run that crashes leaves no half capture under a final name.
func openCaptures(dir string, hosts []string) (map[string]*netem.Capture, func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("capture directory: %w", err)
	}
	caps := map[string]*netem.Capture{}
	var files []*reports.File
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	abort := func() {
		for _, f := range files {
			_ = f.Abort()
		}
	}
	for _, h := range hosts {
		f, err := reports.CreateFile(filepath.Join(dir, h+".pcap"))
		if err != nil {
			abort()
			return nil, nil, fmt.Errorf("capture: %w", err)
		}
		files = append(files, f)
		c, err := netem.NewCapture(f)
		if err != nil {
			abort()
			return nil, nil, fmt.Errorf("capture %s: %w", f.Name(), err)
		}
		caps[h] = c
	}
	return caps, closeAll, nil
}

// Clip files in rtclab.Clips: "audio", "video" (VP8), "video/CODEC",
// and the simulcast layers "simulcast/RID".
var clipFiles = map[string]string{
	"audio":       "testdata/clips/audio-opus.ogg",
	"video":       "testdata/clips/video-vp8.ivf",
	"video/vp8":   "testdata/clips/video-vp8.ivf",
	"video/vp9":   "testdata/clips/video-vp9.ivf",
	"video/h264":  "testdata/clips/video-h264.h264",
	"video/av1":   "testdata/clips/video-av1.ivf",
	"simulcast/q": "testdata/clips/video-vp8-q.ivf",
	"simulcast/h": "testdata/clips/video-vp8-h.ivf",
	"simulcast/f": "testdata/clips/video-vp8.ivf",
}

// agentE2EE is a participant's e2ee option as the agent takes it: a
// schedule's times from the run's start, its frame counters from
// index<<40 (participants sharing keys never share a (KID, CTR): RFC 9605
// section 4.4.3).
func agentE2EE(e *scenarios.E2EE, index int, start time.Time) *agent.E2EE {
	if e == nil {
		return nil
	}
	if len(e.Keys) == 0 {
		return &agent.E2EE{Secret: []byte(e.Key), KID: *e.KeyID, Suite: e.Suite}
	}
	out := &agent.E2EE{Suite: e.Suite, CTRBase: uint64(index) << 40}
	for _, k := range e.Keys {
		out.Keys = append(out.Keys, agent.Key{KID: *k.KID, Secret: []byte(k.Key), From: start.Add(k.From.Duration)})
	}
	return out
}

// openClips opens the clips the participants send, from lib (a library
// of rtclab.Clips shared with other runs) or, when lib is nil, from a
// library of this run's own: each file once. A run used to read and parse
// all seven committed clips (three copies of the VP8 one), a tenth of what
// a quickstart run allocated.
func openClips(lib *clip.Library, ps []scenarios.Participant) (map[string]*clip.Clip, error) {
	if lib == nil {
		lib = clip.NewLibrary(rtclab.Clips)
	}
	out := map[string]*clip.Clip{}
	for _, p := range ps {
		single, simulcast := clipKeys(p)
		for _, media := range slices.Concat(single, simulcast) {
			file, ok := clipFiles[media]
			if !ok || out[media] != nil {
				continue
			}
			c, err := lib.Open(file)
			if err != nil {
				return nil, err
			}
			out[media] = c
		}
	}
	return out, nil
}

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if x < 0 {
		return -float64(int64(-x*p+0.5)) / p
	}
	return float64(int64(x*p+0.5)) / p
}

// readFailed records a log that could not be read back from its spill
// file (package spool): the report is then partial, and Run fails.
func (r *run) readFailed(err error) {
	if err == nil {
		return
	}
	r.readMu.Lock()
	defer r.readMu.Unlock()
	r.readErr = errors.Join(r.readErr, fmt.Errorf("read back a call log: %w", err))
}
