package browser_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/probes"
	"github.com/rtclab/rtclab/stack/browser"
	"github.com/rtclab/rtclab/stack/turn"
)

// Tolerances of the cross-check of Chromium's getStats against rtclab's
// capture of the same streams at the pion client's link edge. The RTCP
// reports that carry loss, jitter and RTT back to Chromium lag the wire by
// up to one report interval, and a link's jitter draws change the round
// trip from one STUN check to the next.
const (
	lossTolerance   = 0.01                  // loss rate, absolute (1 percentage point)
	jitterTolerance = 3 * time.Millisecond  // or 35 % of the capture's figure, whichever is larger
	rttTolerance    = 25 * time.Millisecond // or 50 %: against the capture's median binding round trip (a loaded machine delays Chromium's own handling)
	callFor         = 15 * time.Second
)

// bobDown is the pion client's downlink: what Chromium sends crosses it.
var bobDown = netem.Impairment{Loss: 0.03, Delay: 40 * time.Millisecond, Jitter: 10 * time.Millisecond}

// row is one line of the side-by-side table: getStats, the capture, and
// whether they agree.
type row struct {
	what          string
	browser, wire float64
	unit          string
	tolerance     float64
	agree         bool
}

func (r row) String() string {
	return fmt.Sprintf("%-42s getStats %9.3f  capture %9.3f  diff %+8.3f %s (tolerance %.3f) %v",
		r.what, r.browser, r.wire, r.browser-r.wire, r.unit, r.tolerance, map[bool]string{true: "ok", false: "DISAGREE"}[r.agree])
}

func TestChromiumCrossCheck(t *testing.T) {
	for _, relay := range []bool{false, true} {
		name := "p2p"
		if relay {
			name = "turn-relay-only"
		}
		t.Run(name, func(t *testing.T) { crossCheck(t, relay) })
	}
}

func crossCheck(t *testing.T, relay bool) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	l := startLab(t)
	var ice []webrtc.ICEServer
	turnPort := 0
	if relay {
		ice, turnPort = startTURN(t, l)
	}
	b := launch(t, ctx, l, dir)
	if err := b.Join(ctx, browser.Join{Origin: l.origin, Room: "r", Name: "alice", Loopback: true, ICEServers: ice, RelayOnly: relay}); err != nil {
		t.Fatal(err)
	}
	w := probes.NewWire()
	bob, _ := pionOnLoopback(t, ctx, l, "bob", "r", netem.HostConfig{Downlink: bobDown}, netem.Observe(nil, func(p netem.Packet) {
		if !p.TCP {
			w.Add(p.At, p.Src, p.Dst, p.Payload)
		}
	}), ice, relay)

	rec := probes.NewRecorder(time.Now(), nil)
	sctx, stop := context.WithTimeout(ctx, callFor)
	defer stop()
	last, err := b.Sample(sctx, "alice", time.Second, rec.Sample)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := last.Peer("bob")
	if !ok || p.State != "connected" {
		t.Fatalf("Chromium's connection to bob: %+v", p)
	}
	hermetic(t, ctx, b, p)
	_, local, remote, ok := p.Selected()
	if !ok {
		t.Fatal("no selected candidate pair in getStats")
	}
	wantType := "host"
	if relay {
		wantType = "relay"
	}
	if local.CandidateType != wantType {
		t.Errorf("Chromium's path: local candidate %s, want %s", local.CandidateType, wantType)
	}
	t.Logf("path: Chromium %s %s:%d -> bob's side %s %s:%d", local.CandidateType, local.Address, local.Port, remote.CandidateType, remote.Address, remote.Port)

	var rows []row
	add := func(r row) { rows = append(rows, r) }
	// Chromium -> bob, through bob's impaired downlink: the capture sees
	// what arrived; Chromium learns of it from bob's receiver reports.
	for _, kind := range []string{"audio", "video"} {
		out, ok1 := p.Find("outbound-rtp", kind)
		ri, ok2 := p.Find("remote-inbound-rtp", kind)
		if !ok1 || !ok2 || out.PacketsSent == 0 {
			t.Fatalf("getStats has no %s outbound-rtp/remote-inbound-rtp: %+v %+v", kind, out, ri)
		}
		// bob's last report described the stream as it was half a round
		// trip before it reached Chromium (remote-inbound-rtp timestamp):
		// the capture is cut there.
		cut := time.UnixMicro(int64(ri.Timestamp * 1000)).Add(-time.Duration(ri.RoundTripTime * float64(time.Second) / 2))
		wire := w.Stream(out.SSRC, cut)
		exp, lost := probes.SeqLoss(wire)
		if exp < 100 {
			t.Fatalf("%s: the capture saw %d of Chromium's packets", kind, exp)
		}
		bl, wl := float64(ri.PacketsLost)/float64(exp), float64(lost)/float64(exp)
		add(row{what: "alice->bob " + kind + " loss rate", browser: bl, wire: wl, tolerance: lossTolerance, agree: math.Abs(bl-wl) <= lossTolerance})
		if wl < bobDown.Loss/3 {
			t.Errorf("%s: capture loss %.3f, far below the link's %.2f: the recount misses the loss", kind, wl, bobDown.Loss)
		}
		if kind == "audio" { // a constant packet rate: RFC 3550 jitter means the network's
			wj := analysis.Jitter(wire, 48000)
			tol := max(jitterTolerance, wj*35/100)
			bj := time.Duration(ri.Jitter * float64(time.Second))
			add(row{what: "alice->bob audio jitter (bob's RR)", browser: ms(bj), wire: ms(wj), unit: "ms", tolerance: ms(tol), agree: (bj - wj).Abs() <= tol})
			if wj < 2*time.Millisecond {
				t.Errorf("capture jitter %v under a link with %v of jitter", wj, bobDown.Jitter)
			}
		}
		// bob's own packets: from the socket Chromium sees, or, relayed,
		// every packet not from the TURN server.
		mine := func(a, _ *net.UDPAddr) bool { return a.Port == remote.Port }
		if relay {
			mine = func(a, _ *net.UDPAddr) bool { return a.Port != turnPort }
		}
		rtts := w.RTTs(mine)
		if len(rtts) == 0 {
			t.Fatal("no binding round trip of bob's in the capture")
		}
		med := rtts[len(rtts)/2]
		if kind == "audio" {
			tol := max(rttTolerance, med/2)
			add(row{what: "RTT, RTCP (alice's remote-inbound-rtp)", browser: ri.RoundTripTime * 1000, wire: ms(med), unit: "ms", tolerance: ms(tol), agree: (time.Duration(ri.RoundTripTime*float64(time.Second)) - med).Abs() <= tol})
			pair, _, _, _ := p.Selected()
			add(row{what: "RTT, ICE (alice's candidate-pair)", browser: pair.CurrentRoundTripTime * 1000, wire: ms(med), unit: "ms", tolerance: ms(tol), agree: (time.Duration(pair.CurrentRoundTripTime*float64(time.Second)) - med).Abs() <= tol})
		}
	}
	// bob -> Chromium, bob's uplink is clean: the case a mixed-up direction
	// would break (no loss, little jitter, every packet bob sent arrives).
	for _, kind := range []string{"audio", "video"} {
		in, ok := p.Find("inbound-rtp", kind)
		if !ok {
			t.Fatalf("getStats has no %s inbound-rtp", kind)
		}
		sent := len(w.Stream(in.SSRC, last.At))
		got := float64(in.PacketsReceived)
		add(row{what: "bob->alice " + kind + " packets", browser: got, wire: float64(sent), tolerance: float64(sent) / 50, agree: math.Abs(got-float64(sent)) <= float64(sent)/50})
		add(row{what: "bob->alice " + kind + " packets lost", browser: float64(in.PacketsLost), wire: 0, tolerance: 0, agree: in.PacketsLost == 0})
	}
	// The pion client's own numbers, from its arrival log (after repair).
	for _, c := range bob.Conns() {
		for _, r := range c.Receivers() {
			n := r.Counts()
			t.Logf("bob (pion) receives %s from %s: %d of %d expected, %d lost after NACK/RTX repair", r.Kind, r.From, n.Unique, n.Expected, n.Lost())
		}
	}
	var table strings.Builder
	for _, r := range rows {
		table.WriteString(r.String() + "\n")
		if !r.agree {
			t.Errorf("getStats and the capture disagree: %s", r)
		}
	}
	t.Logf("Chromium's getStats against rtclab's capture:\n%s", table.String())
	// Every second sampled into the recorder.
	n := 0
	for _, s := range rec.Series() {
		if strings.HasPrefix(s.Name, "getstats alice<-bob video packets_received") {
			n = len(s.Points)
		}
	}
	if n < int(callFor/time.Second)-2 {
		t.Errorf("%d getStats samples of alice's video in the recorder, want about %d", n, callFor/time.Second)
	}
	t.Logf("took %v", time.Since(start).Round(time.Second))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startTURN runs rtclab's embedded TURN server on the loopback of l's
// namespace (real sockets), its relay policy opened to loopback, the only
// network this test has.
func startTURN(t *testing.T, l *lab) ([]webrtc.ICEServer, int) {
	t.Helper()
	srv, err := turn.New(turn.Config{Net: l.ns.Net, RelayIP: net.IPv4(127, 0, 0, 1).To4(), UDPAddr: "127.0.0.1:0", Secret: "s", UDPSockets: 1,
		AllowPeer: func(ip net.IP) bool { return ip.IsLoopback() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	user, pass, err := turn.Credentials("s", "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr("udp").(*net.UDPAddr)
	return []webrtc.ICEServer{{URLs: []string{"turn:" + addr.String() + "?transport=udp"}, Username: user, Credential: pass}}, addr.Port
}

// hermetic fails unless every candidate the browser gathered, signalled
// or not, and every local candidate in its getStats is on loopback: the
// test's namespace has no other network (before, Chromium gathered the
// machine's own address, 192.0.2.2, and the page only left it out of
// signaling).
func hermetic(t *testing.T, ctx context.Context, b *browser.Browser, p browser.PeerStats) {
	t.Helper()
	gathered, err := b.Gathered(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gathered) == 0 {
		t.Error("the page recorded no gathered candidate")
	}
	loopback := func(a string) bool { ip := net.ParseIP(a); return ip != nil && ip.IsLoopback() }
	for _, c := range gathered {
		if typ, addr, _ := strings.Cut(c, " "); !loopback(addr) {
			t.Errorf("Chromium gathered a %s candidate on %s, not loopback", typ, addr)
		}
	}
	n := 0
	for _, st := range p.All("local-candidate", "") {
		n++
		if !loopback(st.Address) {
			t.Errorf("getStats has a local %s candidate on %s, not loopback", st.CandidateType, st.Address)
		}
	}
	if n == 0 {
		t.Error("no local-candidate in getStats")
	}
	t.Logf("gathered: %v; %d local candidates in getStats", gathered, n)
}
