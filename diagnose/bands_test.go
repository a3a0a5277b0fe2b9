package diagnose

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
)

func TestThresholdBands(t *testing.T) {
	rtt, _ := threshold(MetricRTT)
	bw, _ := threshold(MetricUpload)
	tests := []struct {
		th   Threshold
		v    float64
		want Level
	}{
		{rtt, 0, Good},
		{rtt, 199.999, Good},
		{rtt, 200, Warn}, // the edge belongs to warn: "good < 200"
		{rtt, 350, Warn},
		{rtt, 500, Warn}, // "bad > 500"
		{rtt, 500.001, Bad},
		{bw, 5000, Good},
		{bw, 800.001, Good},
		{bw, 800, Warn},
		{bw, 500, Warn},
		{bw, 499.999, Bad},
		{bw, 0, Bad},
	}
	for _, tt := range tests {
		if got := tt.th.Classify(tt.v); got != tt.want {
			t.Errorf("%s %v: %s, want %s", tt.th.Metric, tt.v, got, tt.want)
		}
	}
}

// TestThresholdsHaveNoGaps walks every threshold across its edges: each
// value is in exactly one band, and the bands are ordered.
func TestThresholdsHaveNoGaps(t *testing.T) {
	for _, th := range Thresholds {
		if th.Source == "" {
			t.Errorf("%s: no source", th.Metric)
		}
		if th.HigherIsBetter != (th.Good > th.Bad) || th.Good == th.Bad {
			t.Errorf("%s: good %v and bad %v are in the wrong order", th.Metric, th.Good, th.Bad)
		}
		lo, hi := math.Min(th.Good, th.Bad), math.Max(th.Good, th.Bad)
		prev := Level("")
		for v := lo - 2; v <= hi+2; v += (hi - lo) / 1000 {
			got := th.Classify(v)
			if got != Good && got != Warn && got != Bad {
				t.Fatalf("%s %v: no band", th.Metric, v)
			}
			if prev != "" && got != prev {
				// Bands change only monotonically, through warn.
				if (prev == Good && got == Bad) || (prev == Bad && got == Good) {
					t.Errorf("%s: jumps from %s to %s at %v", th.Metric, prev, got, v)
				}
			}
			prev = got
		}
		for _, edge := range []float64{th.Good, th.Bad} {
			if th.Classify(edge) != Warn {
				t.Errorf("%s: edge %v is %s, want warn", th.Metric, edge, th.Classify(edge))
			}
			below, above := th.Classify(math.Nextafter(edge, -1e9)), th.Classify(math.Nextafter(edge, 1e9))
			if below == "" || above == "" {
				t.Errorf("%s: gap at %v", th.Metric, edge)
			}
		}
	}
}

// TestMOSSameAsRun checks that diagnose grades a path with the same
// E-model as a scenario run (analysis.EstimateMOS): the same delay, jitter
// and loss give the same MOS. diagnose used to have its own E-model (Cole
// and Rosenbluth's delay term plus 20 ms), so a network and its lab
// reproduction got different scores.
func TestMOSSameAsRun(t *testing.T) {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	tests := []struct {
		rtt, jitter, loss float64
		wantMOS           float64 // worked out from G.107 (see analysis/emodel_test.go)
	}{
		{0, 0, 0, 4.41},
		{150, 10, 0, 4.41}, // Ta = 75 + 20 + 26.5 = 121.5 ms: Idd 0.17
		{0, 0, 1, 4.33},
		{0, 0, 5, 3.92},
		{400, 20, 0, 4.11}, // Ta 266.5 ms: x = log2(2.665), Idd 10.91, R 82.29
		{0, 0, 20, 2.63},
		{1000, 10, 10, 1.74}, // Ta 546.5 ms: Idd 32.98; Ie,eff 27.07; R 33.15
	}
	for _, tt := range tests {
		got := ScoreAudio(tt.rtt, tt.jitter, tt.loss)
		run := analysis.EstimateMOS(analysis.EModelInput{OneWayDelay: ms(tt.rtt / 2), Jitter: ms(tt.jitter), Loss: tt.loss / 100})
		if math.Abs(got.MOS-run.MOS) > 0.005 || math.Abs(got.R-run.R) > 0.005 {
			t.Errorf("rtt %v jitter %v loss %v: diagnose R %v MOS %v, run R %.2f MOS %.2f", tt.rtt, tt.jitter, tt.loss, got.R, got.MOS, run.R, run.MOS)
		}
		if math.Abs(got.MOS-tt.wantMOS) > 0.01 {
			t.Errorf("rtt %v jitter %v loss %v: MOS %v, want %v", tt.rtt, tt.jitter, tt.loss, got.MOS, tt.wantMOS)
		}
	}
	// More loss or more delay never improves the score.
	for loss := 0.0; loss < 50; loss += 0.5 {
		if ScoreAudio(100, 0, loss+0.5).R > ScoreAudio(100, 0, loss).R {
			t.Fatalf("R rises with loss at %v", loss)
		}
	}
	for d := 0.0; d < 2000; d += 10 {
		if ScoreAudio(d+10, 0, 1).R > ScoreAudio(d, 0, 1).R {
			t.Fatalf("R rises with delay at %v", d)
		}
	}
}

func TestResolution(t *testing.T) {
	tests := []struct {
		kbps float64
		want string
	}{
		{100000, "1080p"}, {4000, "1080p"}, {3999, "720p"}, {2500, "720p"},
		{1200, "540p"}, {700, "360p"}, {400, "270p"}, {150, "180p"}, {149, AudioOnly}, {0, AudioOnly},
	}
	for _, tt := range tests {
		if got := Resolution(tt.kbps); got != tt.want {
			t.Errorf("Resolution(%v) = %s, want %s", tt.kbps, got, tt.want)
		}
	}
}

// TestFindings checks the plain words for the situations a support
// engineer meets most.
func TestFindings(t *testing.T) {
	tests := []struct {
		name    string
		res     Result
		verdict Level
		want    []string
		notWant []string
	}{
		{
			name: "UDP blocked, TLS relay works",
			res: Result{
				NAT: &NATReport{Result: nat.Result{Server: "turn.example.com:3478", Reachable: false}},
				TURN: []turnprobe.Result{
					{URL: "turn:turn.example.com:3478?transport=udp", Transport: turnprobe.UDP, Failure: turnprobe.FailTimeout, Ms: 2500},
					{URL: "turn:turn.example.com:3478?transport=tcp", Transport: turnprobe.TCP, OK: true, Ms: 40},
					{URL: "turns:turn.example.com:443?transport=tcp", Transport: turnprobe.TLS, OK: true, Ms: 80},
				},
				Paths: []pathprobe.Result{
					{Kind: pathprobe.Host, Reason: "not connected within 4s"},
					{Kind: pathprobe.RelayTLS, OK: true},
				},
			},
			verdict: Warn,
			want: []string{
				"UDP to the TURN server is blocked; calls will relay over TCP on 3478 or TLS on 443, which adds latency.",
				"Allow UDP 3478 and 49152–65535 to turn.example.com.",
				"did not answer over UDP",
				"Direct UDP to the test peer does not work; only relayed paths do (relay-tls)",
			},
		},
		{
			name: "only TLS on 443 gets through",
			res: Result{
				TURN: []turnprobe.Result{
					{URL: "turn:turn.example.com:3478?transport=udp", Transport: turnprobe.UDP, Failure: turnprobe.FailTimeout},
					{URL: "turn:turn.example.com:3478?transport=tcp", Transport: turnprobe.TCP, Failure: turnprobe.FailTimeout},
					{URL: "turns:turn.example.com:443?transport=tcp", Transport: turnprobe.TLS, OK: true},
				},
			},
			verdict: Warn,
			want: []string{
				"UDP to the TURN server is blocked; calls will relay over TLS on 443, which adds latency.",
				"Allow UDP 3478 and 49152–65535 to turn.example.com.",
				"Allow outbound TCP to turn.example.com:3478.",
			},
		},
		{
			name: "symmetric NAT",
			res: Result{
				NAT: &NATReport{Result: nat.Result{Server: "s:3478", Reachable: true, Natted: true, Mapped: "203.0.113.5:4000",
					Mapping: nat.AddressAndPortDependent, Filtering: nat.AddressAndPortDependent, Type: nat.Symmetric}, Words: "symmetric NAT"},
			},
			verdict: Warn,
			want:    []string{"This network has a symmetric NAT", "need the TURN relay"},
		},
		{
			name: "no RFC 5780",
			res: Result{
				NAT: &NATReport{Result: nat.Result{Server: "s:3478", Reachable: true, Natted: true, Mapping: nat.Inconclusive, Filtering: nat.Inconclusive,
					Type: nat.Unknown, Reason: "the STUN server sent no OTHER-ADDRESS (it does not support RFC 5780 NAT behaviour discovery)"}},
			},
			verdict: Info,
			want:    []string{"inconclusive: the STUN server sent no OTHER-ADDRESS"},
		},
		{
			name: "bad credentials",
			res: Result{
				TURN: []turnprobe.Result{{URL: "turn:t:3478", Transport: turnprobe.UDP, Failure: turnprobe.FailAuth}},
			},
			verdict: Bad,
			want:    []string{"rejected the credentials (auth)", "No TURN allocation succeeded"},
		},
		{
			name: "lossy path",
			res: Result{
				Paths:    []pathprobe.Result{{Kind: pathprobe.Host, OK: true}},
				BestPath: pathprobe.Host,
				Quality:  []PathQuality{{Path: pathprobe.Host, Ping: pathprobe.PingResult{RTTMs: 80, JitterMs: 12, LossPct: 6}, Audio: ScoreAudio(80, 12, 6)}},
			},
			verdict: Bad,
			want:    []string{"Packet loss over the host path is bad: 6.0 % (good < 1 %, bad > 4 %)."},
		},
		{
			// Every slot of the test peer in use is the server's state: it
			// said "No path ... calls will fail on this network" (issue #17).
			name: "test peer busy",
			res: Result{
				TURN: []turnprobe.Result{{URL: "turn:t:3478", Transport: turnprobe.UDP, OK: true}},
				Paths: []pathprobe.Result{
					{Kind: pathprobe.Host, ServerBusy: true, Reason: "signaling: test peer busy: 503"},
					{Kind: pathprobe.RelayUDP, ServerBusy: true, Reason: "signaling: test peer busy: 503"},
				},
			},
			verdict: Info,
			want:    []string{"The rtclab server was busy and refused the test call for host, relay-udp", "Run the diagnosis again"},
			notWant: []string{"calls will fail", "did not connect"},
		},
		{
			name: "test peer busy for some paths, one tried failed",
			res: Result{
				Paths: []pathprobe.Result{
					{Kind: pathprobe.Host, Reason: "ICE connectivity checks failed"},
					{Kind: pathprobe.RelayUDP, ServerBusy: true, Reason: "signaling: test peer busy: 503"},
				},
			},
			verdict: Info,
			want:    []string{"was busy and refused the test call for relay-udp", "not conclusive"},
			notWant: []string{"calls will fail"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.res
			analyze(&res)
			var all strings.Builder
			for _, f := range res.Findings {
				all.WriteString(f.Text + " " + f.Fix + "\n")
			}
			for _, w := range tt.want {
				if !strings.Contains(all.String(), w) {
					t.Errorf("no finding says %q; findings:\n%s", w, all.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(all.String()+res.Verdict.Summary, w) {
					t.Errorf("a finding or the verdict says %q:\n%s%s", w, all.String(), res.Verdict.Summary)
				}
			}
			if res.Verdict.Level != tt.verdict {
				t.Errorf("verdict %s (%s), want %s", res.Verdict.Level, res.Verdict.Summary, tt.verdict)
			}
			for i := 1; i < len(res.Findings); i++ {
				if res.Findings[i].Level.rank() > res.Findings[i-1].Level.rank() {
					t.Errorf("findings are not worst first: %v", res.Findings)
				}
			}
		})
	}
}

func TestNewPlan(t *testing.T) {
	p, err := NewPlan(Inputs{
		STUN:     "stun:turn.example.com:3478",
		TURN:     []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443"},
		Username: "u", Password: "p", Peer: "http://turn.example.com:8080/",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []pathprobe.Kind{pathprobe.Host, pathprobe.Srflx, pathprobe.RelayUDP, pathprobe.RelayTLS}
	if len(p.Paths) != len(want) {
		t.Fatalf("paths %v, want %v", p.Paths, want)
	}
	for i := range want {
		if p.Paths[i] != want[i] {
			t.Errorf("paths %v, want %v", p.Paths, want)
		}
	}
	if p.STUN != "turn.example.com:3478" || p.Peer != "http://turn.example.com:8080" || p.Timeout != DefaultTimeout {
		t.Errorf("plan %+v", p)
	}
	// The default budget fits the timeout even when every step times out.
	worst := max(p.NATTimeout*3, p.TURNTimeout) + p.PathTimeout + p.Ping + 2*(p.Transfer+500*1e6)
	if worst > p.Timeout {
		t.Errorf("worst case %s exceeds the timeout %s", worst, p.Timeout)
	}
	for _, bad := range []Inputs{
		{},
		{STUN: "nonsense"},
		{TURN: []string{"turn:x"}},
		{TURN: []string{"http://x"}, Username: "u", Password: "p"},
		{Peer: "ftp://x"},
	} {
		if _, err := NewPlan(bad); err == nil {
			t.Errorf("NewPlan(%+v) accepted", bad)
		}
	}
}
