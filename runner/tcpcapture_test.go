package runner

import (
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/scenarios"
)

// udpBlockedYAML is udp-blocked with bob's downlink set by the test.
const udpBlockedYAML = `name: tcp-bottleneck
topology: sfu
duration: %s
ice: {stun: true, turn: true, turn_tcp: true}
participants:
  - name: alice
    nat: port-restricted-cone
    publish: [audio, video]
  - name: bob
    nat: udp-blocked
    publish: [audio]
    uplink: {delay: 15ms}
    downlink: %s
`

// bubbleEpoch is where a synctest bubble's clock starts (2000-01-01 UTC);
// the network, and so every trace, starts there.
var bubbleEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// tcpFrames returns, per TCP frame with payload in file that matches
// filter, its time since the bubble's start and its length on the wire.
func tcpFrames(t *testing.T, tshark, file, filter string) (at []time.Duration, size []int) {
	t.Helper()
	return frames(t, tshark, file, "tcp.len > 0 && "+filter)
}

// frames returns, per frame in file that matches filter, its time since
// the bubble's start and its length on the wire (the IP packet).
func frames(t *testing.T, tshark, file, filter string) (at []time.Duration, size []int) {
	t.Helper()
	out, err := exec.Command(tshark, "-r", file, "-Y", filter, "-T", "fields",
		"-e", "frame.time_epoch", "-e", "frame.len").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		sec, _ := strconv.ParseFloat(f[0], 64)
		n, _ := strconv.Atoi(f[1])
		at = append(at, time.Duration(math.Round((sec-float64(bubbleEpoch.Unix()))*1e6))*time.Microsecond)
		size = append(size, n)
	}
	return at, size
}

// A udp-blocked participant over a capacity trace relays over TURN/TCP,
// and the TCP segments it receives (counted by tshark from its capture's
// frame lengths) never exceed the trace's capacity in any second, plus
// one packet; the call still gets through.
func TestTCPRelayKeepsToTrace(t *testing.T) {
	tshark := realpeer.Binary(t, "tshark")
	dir := t.TempDir()
	s, err := scenarios.Parse("t.yaml", []byte(strings.Replace(strings.Replace(udpBlockedYAML, "%s", "14s", 1), "%s", "{delay: 15ms, trace: builtin:dip-2m-300k.mahi}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runVirtual(t, s, Options{CaptureDir: dir}); err != nil {
		t.Fatal(err)
	}
	trace := s.Participants[1].Resolved.Downlink.Trace
	at, size := tcpFrames(t, tshark, filepath.Join(dir, "bob.pcap"), "tcp.srcport == 3478")
	if len(at) < 100 {
		t.Fatalf("bob.pcap holds %d TCP frames from TURN: TURN/TCP must show in the capture", len(at))
	}
	perSec := map[int]int64{}
	for i := range at {
		perSec[int(at[i]/time.Second)] += int64(size[i])
	}
	for sec := 0; sec < 14; sec++ {
		capacity := trace.CapacityBytes(time.Duration(sec)*time.Second, time.Duration(sec+1)*time.Second)
		t.Logf("second %2d: %6d bytes received over TCP, trace capacity %6d", sec, perSec[sec], capacity)
		if perSec[sec] > capacity+1500 {
			t.Errorf("second %d: bob received %d bytes of IP packets over TCP, the trace allows %d (+1500)", sec, perSec[sec], capacity)
		}
	}
	// In the dip (300 kbit/s from 8 to 12 s) the link is full.
	if perSec[10] < 300_000/8/2 {
		t.Errorf("second 10: %d bytes; the relay should fill the 300 kbit/s dip", perSec[10])
	}
}

// Over a lossy rate-limited downlink bob's TCP relay shows what the link
// does: the TURN server's capture holds retransmissions (tshark's
// analysis), bob's capture lacks the segments that were lost, each
// arrives no earlier than the link's delay after it was first sent, and
// a repaired one no earlier than twice that (three duplicate acks bring
// a fast retransmit, RFC 5681 section 3.2; else the timeout does).
func TestTCPRelayShowsLossAndDelay(t *testing.T) {
	tshark := realpeer.Binary(t, "tshark")
	dir := t.TempDir()
	yaml := strings.Replace(strings.Replace(udpBlockedYAML, "%s", "8s", 1), "%s", "{delay: 40ms, rate: 1Mbps, loss: 5%}", 1)
	s, err := scenarios.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runVirtual(t, s, Options{CaptureDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// TURN's capture shows bob by his NAT's public address.
	public := ""
	for _, e := range rep.Events {
		if e.Source == "bob" && e.Kind == "joined" {
			_, rest, _ := strings.Cut(e.Detail, "(public ")
			public = strings.TrimSuffix(rest, ")")
		}
	}
	if public == "" {
		t.Fatal("no joined event with bob's public address")
	}
	toBob := "tcp.srcport == 3478 && tcp.len > 0 && ip.dst == " + public
	count := func(file, filter string) int {
		out, err := exec.Command(tshark, "-r", filepath.Join(dir, file), "-Y", filter).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		return strings.Count(string(out), "\n")
	}
	// TURN sends to bob's NAT from port 3478; bob's capture shows the
	// same segments with bob's inside address.
	sent := count("turn.pcap", toBob)
	resent := count("turn.pcap", toBob+" && tcp.analysis.retransmission")
	got := count("bob.pcap", "tcp.srcport == 3478 && tcp.len > 0")
	t.Logf("TURN sent %d segments to bob (%d retransmissions), bob received %d", sent, resent, got)
	if sent == 0 || resent == 0 {
		t.Fatalf("sent %d, retransmitted %d: a 5%% loss link must show retransmissions in turn.pcap", sent, resent)
	}
	// 5% random loss, plus what the 1 Mbit/s bottleneck's queue drops
	// (alice's video and its retransmissions fill it).
	lost := float64(sent-got) / float64(sent)
	if lost < 0.02 || lost > 0.4 {
		t.Errorf("%.1f%% of TCP frames lost on a 5%% loss link (sent %d, received %d)", lost*100, sent, got)
	}
	// Delay per segment, by its sequence number.
	seqTimes := func(file, filter string) map[string][]time.Duration {
		out, err := exec.Command(tshark, "-r", filepath.Join(dir, file), "-Y", filter, "-T", "fields",
			"-e", "tcp.stream", "-e", "tcp.seq_raw", "-e", "frame.time_epoch").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		m := map[string][]time.Duration{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			sec, _ := strconv.ParseFloat(f[2], 64)
			m[f[1]] = append(m[f[1]], time.Duration(sec*1e9)) // one connection per file: key by sequence number
		}
		return m
	}
	from, to := seqTimes("turn.pcap", toBob), seqTimes("bob.pcap", "tcp.srcport == 3478 && tcp.len > 0")
	repaired, minDelay := 0, time.Hour
	// A segment lost again and again waits 200 ms, 400 ms, 800 ms, ...:
	// those first sent in the last 3 s may still be on their way.
	end := bubbleEpoch.Add(s.Duration.Duration - 3*time.Second).Sub(time.Unix(0, 0))
	for k, sends := range from {
		arr := to[k]
		if len(arr) == 0 {
			if sends[0] < end {
				t.Errorf("segment %s, first sent at %v, never arrived: TCP repairs every loss", k, sends[0]-bubbleEpoch.Sub(time.Unix(0, 0)))
			}
			continue
		}
		d := arr[0] - sends[0]
		minDelay = min(minDelay, d)
		// Segments behind a gap are resent too (acks are cumulative), so
		// judge only those that first arrived after their resend.
		if len(sends) > 1 && arr[0] > sends[1] {
			repaired++
			// A fast retransmit needs later segments to arrive (40 ms)
			// before the resend crosses the link again (40 ms).
			if d < 80*time.Millisecond {
				t.Errorf("segment %s was repaired %v after its first send, less than twice the link's 40 ms", k, d)
			}
		}
	}
	if minDelay < 40*time.Millisecond-time.Microsecond {
		t.Errorf("a segment arrived %v after it was sent, less than the link's 40 ms", minDelay)
	}
	t.Logf("%d segments repaired; the fastest arrived %v after it was sent", repaired, minDelay)
	if repaired == 0 {
		t.Error("no segment arrived after a retransmission")
	}
}

// The bytes per second a participant receives through a 300 kbit/s
// downlink, counted by tshark from its capture's frame lengths (IP
// packets, headers included), never exceed the rate plus one packet, in
// any one-second window on a 100 ms grid; the link is kept full.
func TestRateCountsIPPackets(t *testing.T) {
	tshark := realpeer.Binary(t, "tshark")
	dir := t.TempDir()
	s := mustLoad(t, "quickstart")
	s.Duration.Duration = 10 * time.Second
	s.Participants[1].Resolved.Downlink = netem.Impairment{Delay: 20 * time.Millisecond, Rate: 300_000}
	rep, err := runVirtual(t, s, Options{CaptureDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	inside := ""
	for _, e := range rep.Events {
		if e.Source == s.Participants[1].Name && e.Kind == "joined" {
			inside, _, _ = strings.Cut(e.Detail, " ")
		}
	}
	at, size := frames(t, tshark, filepath.Join(dir, s.Participants[1].Name+".pcap"), "ip.dst == "+inside)
	if len(at) < 100 {
		t.Fatalf("%d frames received", len(at))
	}
	const limit = 300_000/8 + 1500
	busiest := 0
	for w := time.Duration(0); w+time.Second <= s.Duration.Duration; w += 100 * time.Millisecond {
		bytes := 0
		for i := range at {
			if at[i] >= w && at[i] < w+time.Second {
				bytes += size[i]
			}
		}
		busiest = max(busiest, bytes)
		if bytes > limit {
			t.Errorf("%v to %v: %d bytes of IP packets received, over 300 kbit/s plus one packet (%d)", w, w+time.Second, bytes, limit)
		}
	}
	t.Logf("busiest second: %d bytes (limit %d)", busiest, limit)
	if busiest < 300_000/8*9/10 {
		t.Errorf("busiest second %d bytes: the video should fill the link", busiest)
	}
}
