package runner

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/scenarios"
)

// A udp-blocked participant whose downlink goes down for 3 s relays over
// TURN/TCP: bob's capture shows no TCP segment from TURN while the link
// is down, TURN's capture shows it resending (tshark's retransmission
// analysis: at 0.2, 0.6, 1.4 s into the outage), and after the link returns the relay resumes with a
// retransmission, at a timeout that expires after the outage (3.0 s
// into it, 2.7 ms after the link returned), not at once.
func TestTCPRelayStallsInOutage(t *testing.T) {
	tshark := realpeer.Binary(t, "tshark")
	dir := t.TempDir()
	const down, up = 4 * time.Second, 7 * time.Second
	link := fmt.Sprintf("{delay: 15ms, schedule: [{at: %v, down: true}, {at: %v, down: false}]}", down, up)
	s, err := scenarios.Parse("t.yaml", []byte(strings.Replace(strings.Replace(udpBlockedYAML, "%s", "10s", 1), "%s", link, 1)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runVirtual(t, s, Options{CaptureDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Participants) != 2 || rep.Participants[1].SelectedPair == nil || rep.Participants[1].SelectedPair.RelayProtocol != "tcp" {
		t.Fatalf("bob's selected pair %+v: want a relay over TCP", rep.Participants[1].SelectedPair)
	}
	// The network, and the bubble's clock, start at bubbleEpoch; the
	// scenario a few microseconds later. A segment that entered the link
	// before it went down still arrives 15 ms on.
	arrived, _ := tcpFrames(t, tshark, filepath.Join(dir, "bob.pcap"), "tcp.srcport == 3478")
	before, during, after := 0, 0, time.Duration(0)
	for _, at := range arrived {
		switch {
		case at < down:
			before++
		case at > down+16*time.Millisecond && at < up:
			during++
			t.Errorf("a TCP segment from TURN reached bob at %v, while his downlink was down", at)
		case at >= up && after == 0:
			after = at
		}
	}
	// A resend of segments behind a lost one shows as out of order.
	resent, _ := tcpFrames(t, tshark, filepath.Join(dir, "turn.pcap"), "tcp.srcport == 3478 && (tcp.analysis.retransmission || tcp.analysis.out_of_order)")
	inOutage := 0
	for _, at := range resent {
		if at > down && at < up {
			inOutage++
		}
	}
	t.Logf("bob received %d TCP segments before the outage, %d during; TURN resent %d during it; the first after it arrived at %v", before, during, inOutage, after)
	if before < 100 || after == 0 {
		t.Fatalf("%d segments before the outage, first after it at %v: the relay must carry the call before and after", before, after)
	}
	if inOutage == 0 {
		t.Error("TURN resent nothing during the outage: its retransmission timer must run")
	}
	// The first arrival after the outage is a retransmission that left
	// TURN after the link returned, 15 ms earlier.
	first := false
	for _, at := range resent {
		if at >= up && at+15*time.Millisecond <= after && after-at < 15*time.Millisecond+time.Millisecond {
			first = true
		}
	}
	if !first {
		t.Errorf("the first segment after the outage arrived at %v, and no retransmission left TURN 15 ms before: TCP recovers by its timeout", after)
	}
}
