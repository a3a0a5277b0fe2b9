package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/probes"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/browser"
	"github.com/rtclab/rtclab/stack/sfu"
)

// Chromium participants (client: chromium, kernel backend): each runs in
// its host's namespace, opens the call page that rtclab serves from the
// SFU host's namespace (with the signaling WebSocket, so the browser
// reaches both through the emulated internet), and its getStats() is
// sampled every second into the run's recorder. The report carries its
// figures beside rtclab's own, counted from the captures of the access
// links (probes.Wire) of the same streams.

// pagePort is where the call page and signaling are served for browsers.
const pagePort = 8080

// Tolerances of the cross-check. RTCP reports, which carry loss, jitter
// and RTT back to a sender, lag the wire by up to a report interval; a
// link's jitter makes one round trip differ from the next.
const (
	crossLossTolerance   = 0.01                 // loss fraction, absolute
	crossJitterTolerance = 3 * time.Millisecond // or 35 % of the capture's figure, whichever is larger
	// The browser's RTCP round trip also holds the time it takes to
	// handle a receiver report, which grows with the machine's load: 16
	// and 26 ms over 70-73 ms of the peer's ICE round trips on the same
	// path, at load averages near 19 on 2 cores. So: 25 ms or 50 %.
	crossRTTTolerance = 25 * time.Millisecond
)

// browserRun is one Chromium participant.
type browserRun struct {
	p     scenarios.Participant
	host  *netem.Host
	b     *browser.Browser
	start time.Time

	mu      sync.Mutex
	last    browser.Snapshot
	samples int
	exited  bool
	page    []browser.PageEvent
}

// browserCalls is the state a run with Chromium participants keeps.
type browserCalls struct {
	wires   map[string]*probes.Wire // every participant's link, by name
	dir     string                  // fake media files
	tempDir bool                    // dir is removed at the end
	page    *http.Server
	served  chan struct{}
	runs    []*browserRun

	mu     sync.Mutex
	failed error             // the first browser that died
	ips    map[string]net.IP // every host's own address, once the network is up
}

// learnHosts records every host's own address (the refusals a host's
// capture hands over are told apart by it).
func (bc *browserCalls) learnHosts(nw netem.Backend) {
	if bc == nil {
		return
	}
	bc.mu.Lock()
	defer bc.mu.Unlock()
	bc.ips = map[string]net.IP{}
	for _, h := range nw.Hosts() {
		bc.ips[h.Name] = h.IP
	}
}

// refusedBy reports whether host itself refused rf: a capture holds the
// ICMP port unreachables the host received too (its peer refused what
// it sent), which say nothing of the host's own ports.
func (bc *browserCalls) refusedBy(host string, rf netem.Refusal) bool {
	bc.mu.Lock()
	ip := bc.ips[host]
	bc.mu.Unlock()
	return ip != nil && rf.Local != nil && rf.Local.IP.Equal(ip)
}

// observeBrowserCalls has every participant's link capture counted when
// a participant is a browser: the wire side of the cross-check.
func (r *run) observeBrowserCalls(cfg *netem.Config) {
	if !r.s.HasChromium() {
		return
	}
	r.browsers = &browserCalls{wires: map[string]*probes.Wire{}}
	for _, p := range r.s.Participants {
		r.browsers.wires[p.Name] = probes.NewWire()
	}
	if r.s.Topology == "sfu" {
		// What a browser sends arrives at the SFU's link, whose receiver
		// reports carry it back to the browser.
		r.browsers.wires[scenarios.SFUHost] = probes.NewWire()
	}
	orig := cfg.Capture
	cfg.Capture = func(host string) *netem.Capture {
		var c *netem.Capture
		if orig != nil {
			c = orig(host)
		}
		w := r.browsers.wires[host]
		if w == nil {
			return c
		}
		c = netem.Observe(c, func(p netem.Packet) {
			if !p.TCP {
				w.Add(p.At, p.Src, p.Dst, p.Payload)
			}
		})
		// A datagram to a port the host had closed (its ICMP port
		// unreachable says so) was on the link but received by no one:
		// the receiver's reports count it lost, and so does the wire.
		return netem.ObserveRefused(c, func(rf netem.Refusal) {
			if r.browsers.refusedBy(host, rf) {
				w.Refused(rf.Local, rf.Remote, rf.Quoted)
			}
		})
	}
}

// startChromium starts p's browser in its namespace and joins it to the
// call; a browser that dies ends the run (stop) with a partial report.
func (r *run) startChromium(ctx context.Context, wg *sync.WaitGroup, p scenarios.Participant, h *netem.Host, ice []webrtc.ICEServer, stop context.CancelFunc) error {
	bc := r.browsers
	if r.kernel == nil || bc == nil {
		return errors.New("chromium: needs backend: kernel")
	}
	ns, ok := r.kernel.Namespace(p.Name)
	if !ok {
		return fmt.Errorf("chromium %s: no namespace", p.Name)
	}
	origin, err := r.servePage()
	if err != nil {
		return err
	}
	video, audio, err := r.fakeMedia(ctx)
	if err != nil {
		return err
	}
	br := &browserRun{p: p, host: h, start: time.Now()}
	b, err := browser.Launch(ctx, browser.Params{Dir: bc.dir, Video: video, Audio: audio, Netns: ns, Origin: origin, Log: r.log})
	if err != nil {
		return fmt.Errorf("chromium %s: %w", p.Name, err)
	}
	br.b = b
	bc.runs = append(bc.runs, br)
	r.event(p.Name, "chromium", fmt.Sprintf("started, pid %d, in namespace %s", b.PID(), ns))
	if err := b.Join(ctx, browser.Join{Origin: origin, Room: room, Name: p.Name, ICEServers: ice, RelayOnly: r.s.ICE.RelayOnly,
		Topology: r.s.Topology, SFU: sfu.Name}); err != nil {
		return fmt.Errorf("chromium %s: %w", p.Name, err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last time.Time
		snap, err := b.Sample(ctx, p.Name, time.Second, func(now time.Time, name, metric, unit string, v float64) {
			if now != last {
				last = now
				br.mu.Lock()
				br.samples++
				br.mu.Unlock()
			}
			r.rec.Sample(now, name, metric, unit, v)
		})
		br.mu.Lock()
		br.last = snap
		br.mu.Unlock()
		if errors.Is(err, browser.ErrExited) {
			br.mu.Lock()
			br.exited = true
			br.mu.Unlock()
			r.event(p.Name, "error", "chromium exited during the call: "+err.Error())
			bc.mu.Lock()
			if bc.failed == nil {
				bc.failed = fmt.Errorf("chromium %s exited during the call", p.Name)
			}
			bc.mu.Unlock()
			stop()
		} else if err != nil {
			r.event(p.Name, "error", err.Error())
		}
	}()
	return nil
}

// servePage serves the call page and the signaling WebSocket inside the
// SFU host's namespace, once; it returns the origin.
func (r *run) servePage() (string, error) {
	sh, _ := r.net.Host(scenarios.SFUHost)
	origin := fmt.Sprintf("http://%s:%d", sh.IP, pagePort)
	bc := r.browsers
	if bc.page != nil {
		return origin, nil
	}
	ln, err := sh.Net.ListenTCP("tcp4", &net.TCPAddr{IP: sh.IP, Port: pagePort})
	if err != nil {
		return "", fmt.Errorf("call page: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(browser.PagePath, browser.Handler())
	mux.HandleFunc("/ws", func(w http.ResponseWriter, req *http.Request) {
		r.signaling.mu.Lock()
		srv := r.signaling.srv
		r.signaling.mu.Unlock()
		srv.Handler().ServeHTTP(w, req)
	})
	bc.page = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	bc.served = make(chan struct{})
	go func() {
		defer close(bc.served)
		_ = bc.page.Serve(ln)
	}()
	return origin, nil
}

// fakeMedia makes the camera and microphone files from the clips, once,
// into the capture directory or a temporary one.
func (r *run) fakeMedia(ctx context.Context) (video, audio string, err error) {
	bc := r.browsers
	if bc.dir == "" {
		if r.opt.CaptureDir != "" {
			bc.dir = r.opt.CaptureDir
		} else if bc.dir, err = os.MkdirTemp("", "rtclab-chromium-"); err != nil {
			return "", "", fmt.Errorf("chromium media: %w", err)
		} else {
			bc.tempDir = true
		}
	}
	var srcs [2]string
	for i, f := range []string{clipFiles["video"], clipFiles["audio"]} {
		data, err := fs.ReadFile(rtclab.Clips, f)
		if err != nil {
			return "", "", err
		}
		srcs[i] = filepath.Join(bc.dir, filepath.Base(f))
		if err := os.WriteFile(srcs[i], data, 0o644); err != nil {
			return "", "", fmt.Errorf("chromium media: %w", err)
		}
	}
	return browser.Media(ctx, bc.dir, srcs[0], srcs[1])
}

// failure returns the first browser death, nil when none died.
func (bc *browserCalls) failure() error {
	if bc == nil {
		return nil
	}
	bc.mu.Lock()
	defer bc.mu.Unlock()
	return bc.failed
}

// closeBrowsers reads each page's events, stops every browser by its
// PID and the page server; it runs before the network closes.
func (r *run) closeBrowsers() {
	bc := r.browsers
	if bc == nil {
		return
	}
	for _, br := range bc.runs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if ev, err := br.b.Events(ctx); err == nil {
			br.page = ev
			for _, e := range ev {
				r.rec.Event(e.At, br.p.Name, e.Kind, e.Detail)
			}
		}
		cancel()
		br.b.Close()
	}
	if bc.page != nil {
		_ = bc.page.Close()
		<-bc.served
	}
	if bc.tempDir {
		_ = os.RemoveAll(bc.dir)
	}
}

// browserReport adds each browser's participant, the streams it received
// (counted from the capture of its link, browser_streams.go) and its
// cross-check to rep.
func (r *run) browserReport(rep *reports.Report) {
	bc := r.browsers
	if bc == nil {
		return
	}
	for _, br := range bc.runs {
		br.mu.Lock()
		snap, samples, exited, page := br.last, br.samples, br.exited, br.page
		br.mu.Unlock()
		part := reports.Participant{Name: br.p.Name, NAT: br.p.NAT.String(), Address: br.host.IP.String()}
		for _, e := range page {
			if e.Kind == "connection-state" && part.TimeToConnectMS == nil && len(e.Detail) > 10 && e.Detail[len(e.Detail)-9:] == "connected" {
				ms := round(float64(e.At.Sub(br.start).Microseconds())/1000, 1)
				part.TimeToConnectMS = &ms
			}
		}
		check := reports.BrowserCheck{Participant: br.p.Name, Client: scenarios.ClientChromium, Samples: samples, Exited: exited}
		seen := map[streamKey]int{}
		// Connections the page closed (an SFU that left) first: streams
		// are numbered in the order they ran.
		peers := slices.Clone(snap.Peers)
		live := func(p browser.PeerStats) int {
			if p.State == "closed" {
				return 0
			}
			return 1
		}
		slices.SortStableFunc(peers, func(a, b browser.PeerStats) int { return cmp.Compare(live(a), live(b)) })
		for _, ps := range peers {
			if ps.State != "closed" { // a connection the page retired (an SFU that left) is in the streams only
				part.Peer = ps.Remote
				// From the page's connection-state events, as an agent's.
				pr := measurePresence(rep.Events, br.p.Name, ps.Remote, r.s.Duration.Seconds())
				part.Connected, part.ConnectedFraction, part.Dropped = pr.stayed && ps.State == "connected" && !exited, pr.fraction, pr.drop
				if _, local, remote, ok := ps.Selected(); ok {
					part.SelectedPair = &reports.CandidatePair{Local: local.CandidateType, Remote: remote.CandidateType, Protocol: "udp",
						LocalAddress: fmt.Sprintf("%s:%d", local.Address, local.Port), RemoteAddress: fmt.Sprintf("%s:%d", remote.Address, remote.Port)}
				}
			}
			for _, in := range ps.All("inbound-rtp", "") {
				kind, from := in.Kind, cmp.Or(in.From, ps.Remote)
				st := reports.Stream{From: from, To: br.p.Name, Kind: kind}
				k := streamKey{from, br.p.Name, kind}
				if seen[k]++; seen[k] > 1 {
					st.Connection = seen[k] // a later incarnation (an SFU restart)
				}
				r.browserReceived(&st, br, in) // browser_streams.go
				rep.Streams = append(rep.Streams, st)
			}
			rows := r.crossCheck(br, ps, snap.At)
			for i := range rows {
				if ps.State == "closed" {
					rows[i].What += " (closed connection)"
				}
			}
			check.Rows = append(check.Rows, rows...)
		}
		rep.Participants = append(rep.Participants, part)
		rep.Browsers = append(rep.Browsers, check)
	}
}

// crossCheck compares the browser's figures for its connection to the
// peer ps with rtclab's count of the same streams on the wire.
func (r *run) crossCheck(br *browserRun, ps browser.PeerStats, at time.Time) []reports.CrossCheck {
	bc := r.browsers
	me, peer := br.p.Name, ps.Remote
	mine, theirs := bc.wires[me], bc.wires[peer]
	var rows []reports.CrossCheck
	add := func(what, unit, where string, gs, wire, tol float64) {
		d := gs - wire
		rows = append(rows, reports.CrossCheck{What: what, Unit: unit, Where: where, GetStats: round(gs, 4), Capture: round(wire, 4),
			Diff: round(d, 4), Tolerance: round(tol, 4), Agree: math.Abs(d) <= tol})
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	// What the peer (through an SFU: each publisher) sent arrives at the
	// browser's link: the capture there counts it after the browser's
	// downlink, before repair; getStats counts a repaired packet as
	// received, and each repair as a retransmission received.
	for _, in := range ps.All("inbound-rtp", "") {
		kind, peer := in.Kind, cmp.Or(in.From, ps.Remote)
		if mine != nil {
			wire := mine.Stream(in.SSRC, at)
			exp, lost := probes.SeqLoss(wire)
			gsExp := float64(in.PacketsReceived) + float64(in.PacketsLost)
			switch {
			case exp == 0 || gsExp == 0:
			case kind == "audio":
				// Chromium neither asks for nor gets Opus retransmissions:
				// its loss is the wire's.
				add(fmt.Sprintf("loss_fraction %s->%s audio", peer, me), "", me, float64(in.PacketsLost)/gsExp, float64(lost)/float64(exp), crossLossTolerance)
			default:
				// Video is repaired (NACK, retransmissions), which the two
				// count differently: compare the packets that arrived.
				// getStats counts a retransmission (RTX, its own SSRC) as a
				// packet received; the capture of the media SSRC does not.
				got := float64(len(wire))
				add(fmt.Sprintf("packets_received %s->%s video (originals)", peer, me), "packets", me, float64(in.PacketsReceived)-float64(in.RetransmittedPacketsReceived), got, math.Max(2, got*2*crossLossTolerance))
			}
			if kind == "audio" && len(wire) > 1 {
				wj := analysis.Jitter(wire, 48000)
				add(fmt.Sprintf("jitter_ms %s->%s audio", peer, me), "ms", me, in.Jitter*1000, ms(wj), ms(max(crossJitterTolerance, wj*35/100)))
			}
		}
	}
	for _, kind := range []string{"audio", "video"} {
		// What the browser sent arrives at the peer's link; the peer's
		// receiver reports (remote-inbound-rtp) count it there, before
		// repair.
		out, ok1 := ps.Find("outbound-rtp", kind)
		ri, ok2 := ps.Find("remote-inbound-rtp", kind)
		if ok1 && ok2 && theirs != nil && ri.Timestamp > 0 {
			// The report describes the stream as it was when the peer
			// sent it: half a round trip before it arrived.
			rtt := time.Duration(ri.RoundTripTime * float64(time.Second))
			cut := time.UnixMicro(int64(ri.Timestamp * 1000)).Add(-rtt / 2)
			wire := theirs.Stream(out.SSRC, cut)
			if exp, lost := probes.SeqLoss(wire); exp > 0 {
				add(fmt.Sprintf("loss_fraction %s->%s %s (%s's reports)", me, peer, kind, peer), "", peer, float64(ri.PacketsLost)/float64(exp), float64(lost)/float64(exp), crossLossTolerance)
			}
			if kind == "audio" && len(wire) > 1 {
				wj := analysis.Jitter(wire, 48000)
				add(fmt.Sprintf("jitter_ms %s->%s audio (%s's reports)", me, peer, peer), "ms", peer, ri.Jitter*1000, ms(wj), ms(max(crossJitterTolerance, wj*35/100)))
			}
		}
	}
	// Round trip: the mean of the browser's RTCP round trips (its audio's
	// remote-inbound-rtp, RFC 3550 section 6.4.1: the peer's reports)
	// against the mean of the peer's own ICE checks on the selected path,
	// each sent and answered at the peer's link. (The browser's own ICE
	// check times, candidate-pair totalRoundTripTime, also hold its
	// scheduling delays: 91 ms against a 71 ms path on a loaded machine.)
	ri, ok1 := ps.Find("remote-inbound-rtp", "audio")
	_, local, _, ok2 := ps.Selected()
	ph, ok3 := r.net.Host(peer)
	if ok1 && ok2 && ok3 && theirs != nil && ri.RoundTripTimeMeasurements > 0 {
		ip, to := ph.IP, &net.UDPAddr{IP: net.ParseIP(local.Address), Port: local.Port}
		rtts := theirs.RTTs(func(src, dst *net.UDPAddr) bool {
			return src.IP.Equal(ip) && dst.IP.Equal(to.IP) && dst.Port == to.Port
		})
		if len(rtts) == 0 { // the peer sees the browser's candidate translated: every check of the peer's
			rtts = theirs.RTTs(func(src, _ *net.UDPAddr) bool { return src.IP.Equal(ip) })
		}
		if len(rtts) > 0 {
			var sum time.Duration
			for _, d := range rtts {
				sum += d
			}
			mean := sum / time.Duration(len(rtts))
			add(fmt.Sprintf("rtt_ms %s-%s (mean)", me, peer), "ms", peer, ri.TotalRoundTripTime*1000/float64(ri.RoundTripTimeMeasurements), ms(mean), ms(max(crossRTTTolerance, mean/2)))
		}
	}
	return rows
}

// stopBrowserMedia has every browser stop sending media at the end of
// the scenario, as the agents stop publishing then: the final count,
// read a drain later, then holds all they sent (before, a Chromium sent
// on until it was closed, and its receivers' counts fell short of the
// captures by what it sent in the drain).
func (r *run) stopBrowserMedia() {
	if r.browsers == nil {
		return
	}
	for _, br := range r.browsers.runs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := br.b.StopSending(ctx); err != nil {
			r.event(br.p.Name, "error", err.Error())
		}
		cancel()
	}
}

// restartBrowserICE has the browser participant name, if it is one,
// restart ICE on every connection (an ice_restart step).
func (r *run) restartBrowserICE(ctx context.Context, name string) error {
	if r.browsers == nil {
		return nil
	}
	for _, br := range r.browsers.runs {
		if br.p.Name == name {
			r.event(name, "ice-restart", "asked of the page")
			return br.b.RestartICE(ctx)
		}
	}
	return nil
}

// browserArrivals adds, for every stream a browser received (each
// inbound-rtp of its last snapshot, a retired connection's included),
// the media packets the capture of its link saw on the stream's SSRC to
// arrivals, and the streams not yet in keys to keys: the wire side of a
// browser stream's recovery after a fault. Its getStats cannot say when
// a packet arrived.
func (r *run) browserArrivals(arrivals map[streamKey][]analysis.Packet, keys []streamKey) []streamKey {
	if r.browsers == nil {
		return keys
	}
	for _, br := range r.browsers.runs {
		br.mu.Lock()
		snap := br.last
		br.mu.Unlock()
		w := r.browsers.wires[br.p.Name]
		if w == nil {
			continue
		}
		for _, ps := range snap.Peers {
			for _, in := range ps.All("inbound-rtp", "") {
				k := streamKey{cmp.Or(in.From, ps.Remote), br.p.Name, in.Kind}
				if _, ok := arrivals[k]; !ok {
					keys = append(keys, k)
				}
				arrivals[k] = append(arrivals[k], w.Stream(in.SSRC, time.Time{})...)
			}
		}
	}
	return keys
}
