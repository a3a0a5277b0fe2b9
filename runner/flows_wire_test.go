package runner

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// TestFlowsShareOnTheWire recounts, with tshark on the sender's capture,
// the numbers that set a flow's sending rate against the bottleneck's
// capacity: its rate on the wire, its share (capacity less the audio's
// IP packets), its ramp-up and its convergence after a capacity step.
// netem counts capacity in IP packet bytes, so the rate must be too
// (RFC 8868 section 3 items 8 to 10). The old build set the flow's RTP
// bytes (3 % fewer for this video) against a share that left out 28
// bytes of each audio packet: 580 kbit/s after the step, not 568.8.
func TestFlowsShareOnTheWire(t *testing.T) {
	tshark := realpeer.Binary(t, "tshark")
	s, err := scenarios.Parse("wire.yaml", []byte(`name: wire
topology: flows
duration: 30s
participants:
  - name: sender
    uplink: {rate: 1Mbps, queue: 300ms, schedule: [{at: 20s, rate: 600kbps}, {at: 27s, rate: 4Mbps}]}
  - name: receiver
    downlink: {delay: 50ms}
    uplink: {delay: 50ms}
flows:
  - {name: video, kind: media, from: sender, to: receiver}
  - {name: audio, kind: audio, from: sender, to: receiver}
`))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rep, err := runVirtual(t, s, Options{CaptureDir: dir, RTPLogDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", filepath.Join(dir, "sender.pcap"), "-Y", "udp",
		"-T", "fields", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.len").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	type pkt struct {
		at   float64
		size float64
	}
	// The sender's address: the source of the audio's datagrams (only
	// the sender sends from the audio flow's port).
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	sender := ""
	for _, line := range lines {
		if f := strings.Fields(line); len(f) == 4 && f[2] == strconv.Itoa(flowPort+1) {
			sender = f[1]
			break
		}
	}
	byPort := map[int][]pkt{}
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) != 4 || f[1] != sender {
			continue
		}
		at, _ := strconv.ParseFloat(f[0], 64)
		port, _ := strconv.Atoi(f[2])
		size, _ := strconv.ParseFloat(f[3], 64)
		byPort[port] = append(byPort[port], pkt{at, size})
	}
	audio := byPort[flowPort+1] // the second flow's CBR socket
	var video []pkt             // the media's 5-tuple: the other one, the largest
	for port, ps := range byPort {
		if port != flowPort+1 && len(ps) > len(video) {
			video = ps
		}
	}
	if len(audio) == 0 || len(video) == 0 {
		t.Fatalf("tshark found %d audio and %d video packets from the sender (ports %v)", len(audio), len(video), len(byPort))
	}
	// Scenario time zero: the audio flow (index 1) starts at its phase
	// and the sources' shift; its first 50-byte packet needs four 5 ms
	// ticks of 12.5 bytes of credit, so it leaves 15 ms after the start.
	t0 := audio[0].at - (stagger(1) + sourceShift + 15*time.Millisecond).Seconds()
	dur := s.Duration.Seconds()
	var audioBytes float64
	for _, p := range audio {
		audioBytes += p.size
	}
	audioKbps := audioBytes * 8 / dur / 1000
	// The video's 100 ms samples, (k-1)/10 < t <= k/10, and their 1 s means.
	bins := make([]float64, int(dur*10)+1)
	for _, p := range video {
		if k := int(math.Ceil((p.at - t0) * 10)); k >= 1 && k < len(bins) {
			bins[k] += p.size * 8 / 0.1 / 1000
		}
	}
	rate1s := func(k int) float64 { return mean(bins[max(1, k-9) : k+1]) }
	// First sample at or after from within ±20 % of share, as scenario
	// seconds since from.
	converge := func(from, until, share float64) float64 {
		for k := int(math.Round(from * 10)); float64(k)/10 < until; k++ {
			if math.Abs(rate1s(k)-share) <= convergenceBand*share {
				return float64(k)/10 - from
			}
		}
		return math.NaN()
	}
	var v reports.BandwidthFlow
	for _, f := range rep.Bandwidth.Flows {
		if f.Name == "video" {
			v = f
		}
	}
	if want := mean(bins[1:]); math.Abs(v.WireKbps-want) > 0.005*want {
		t.Errorf("wire_kbps %.1f, tshark %.1f", v.WireKbps, want)
	}
	// The plotted sending rate (series "send video", 1 s mean) is the
	// same rate on the wire, drawn against the capacity in its units.
	compared := 0
	for _, sr := range rep.Series {
		if sr.Name != "send video" {
			continue
		}
		for _, p := range sr.Points {
			k := int(math.Round(p.T * 10))
			if p.T < 2 || k >= len(bins) {
				continue
			}
			compared++
			if want := rate1s(k); math.Abs(p.V-want) > 0.01*want+1 {
				t.Errorf("send video at %.1f s: %.1f kbit/s plotted, tshark %.1f", p.T, p.V, want)
				break
			}
		}
	}
	if compared < 200 {
		t.Errorf("%d points of the send series compared with tshark", compared)
	}
	if v.RateKbps > 0.97*v.WireKbps {
		t.Errorf("RTP rate %.1f kbit/s within 3 %% of the wire's %.1f: the test cannot tell them apart", v.RateKbps, v.WireKbps)
	}
	if v.RampUpS == nil || len(v.Convergence) != 2 {
		t.Fatalf("ramp-up %v, convergence %+v", v.RampUpS, v.Convergence)
	}
	for _, c := range []struct {
		what                  string
		from, until, capacity float64
		gotS, gotShare        float64
	}{
		{"ramp-up", 0, 20, 1000, *v.RampUpS, math.NaN()},
		{"after the step to 600 kbit/s", 20, 27, 600, v.Convergence[0].S, v.Convergence[0].ShareKbps},
	} {
		share := c.capacity - audioKbps // one video flow, the encoder's range not reached
		if !math.IsNaN(c.gotShare) && math.Abs(c.gotShare-share) > 0.5 {
			t.Errorf("%s: share %.1f kbit/s, want capacity less the audio's %.1f kbit/s on the wire (tshark): %.1f", c.what, c.gotShare, audioKbps, share)
		}
		want := converge(c.from, c.until, share)
		if math.IsNaN(want) || math.Abs(c.gotS-want) > 0.15 {
			t.Errorf("%s: %.2f s, tshark's 1 s rates come within 20 %% of %.1f kbit/s after %.2f s", c.what, c.gotS, share, want)
		}
	}

	// At 4 Mbit/s the share is the encoder's 1.5 Mbit/s maximum, which
	// counts payload bytes (as GCC does), in the wire's units: times the
	// flow's IP bytes (tshark) per payload byte (its RFC 8868 send log).
	logf, err := os.ReadFile(filepath.Join(dir, "video.send.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var payload float64
	for _, line := range strings.Split(string(logf), "\n") {
		if f := strings.Fields(line); len(f) == 7 && !strings.HasPrefix(line, "#") {
			n, _ := strconv.ParseFloat(f[6], 64)
			payload += n
		}
	}
	var wire float64
	for _, p := range video {
		wire += p.size
	}
	if want := 1500 * wire / payload; math.Abs(v.Convergence[1].ShareKbps-want) > 0.005*want {
		t.Errorf("share at 4 Mbit/s %.1f kbit/s, want the encoder's 1500 × %.4f wire bytes per payload byte = %.1f", v.Convergence[1].ShareKbps, wire/payload, want)
	}
}

// TestFlowsWireOfTCP: a tcp flow's rate on the wire is its segments with
// their 28 bytes of UDP and IP headers, and not its receiver's acks,
// which carry its SSRC the other way: 1200-byte segments make it
// 1228/1200 of rate_kbps. Counting the acks too gave 1073 for 1028.
func TestFlowsWireOfTCP(t *testing.T) {
	rep := runYAML(t, "tcp.yaml", `name: tcp
topology: flows
duration: 5s
participants:
  - name: a
    uplink: {rate: 1Mbps, queue: 100ms}
  - name: b
    downlink: {delay: 20ms}
flows:
  - {name: web, kind: tcp, from: a, to: b}
`)
	f := rep.Bandwidth.Flows[0]
	if want := f.RateKbps * 1228 / 1200; f.RateKbps < 500 || math.Abs(f.WireKbps-want) > 0.2 {
		t.Errorf("tcp: wire %.1f kbit/s, want %.1f (rate %.1f with 28 of 1228 bytes of headers)", f.WireKbps, want, f.RateKbps)
	}
}
