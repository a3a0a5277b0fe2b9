package reproduce

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rtclab/rtclab/bubble"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
)

// TestUDPBlockedRelaysOverTCP reproduces a udp-blocked diagnosis and runs
// the scenario in virtual time: the customer must relay over TURN/TCP in
// the lab too, with the measured RTT on its path. The case that breaks
// it: the same result with TURN over TCP turned off must not connect.
func TestUDPBlockedRelaysOverTCP(t *testing.T) {
	leakcheck.Check(t)
	run := func(turnTCP, lossless bool) *reports.Report {
		res := udpBlocked()
		if lossless {
			res.Quality[0].Ping.LossPct = 0
		}
		y := Scenario(res, Source{Name: "repro-udp-blocked", From: "test"})
		s, err := scenarios.Parse("repro.yaml", y)
		if err != nil {
			t.Fatalf("%v\n%s", err, y)
		}
		s.Duration.Duration = 6 * time.Second
		s.ICE.TURNTCP = &turnTCP
		var rep *reports.Report
		bubble.Run(t, func() {
			rep, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual})
		})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	start := time.Now()
	rep := run(true, false)
	t.Logf("6 s of the reproduced network took %s", time.Since(start).Round(time.Millisecond))
	var customer *reports.Participant
	for i := range rep.Participants {
		if rep.Participants[i].Name == "customer" {
			customer = &rep.Participants[i]
		}
	}
	if customer == nil || !customer.Connected || customer.SelectedPair == nil {
		t.Fatalf("customer: %+v", customer)
	}
	if p := customer.SelectedPair; p.Local != "relay" || p.RelayProtocol != "tcp" {
		t.Errorf("customer's pair %+v, want a local relay reached over TCP", p)
	}
	if rep.Verdict != "pass" {
		t.Errorf("verdict %s: %+v", rep.Verdict, rep.Checks)
	}
	// The measured 84 ms median RTT is the customer's hop in the lab:
	// RTCP round trips between the SFU and the customer. Without the 1 %
	// loss, that is: a lost TCP segment holds back the ones behind it
	// until it is resent, which lengthens the lossy run's RTT as it
	// would on a real TURN/TCP path.
	rtts := 0
	for _, st := range run(true, true).Streams {
		if st.To == "customer" && st.RTTMS != nil {
			rtts++
			t.Logf("%s->customer %s: RTT %.1f ms in the lab", st.From, st.Kind, *st.RTTMS)
			if *st.RTTMS < 84 || *st.RTTMS > 84+16 {
				t.Errorf("%s->customer %s: RTT %.1f ms, want the measured 84 ms (+ jitter and queueing)", st.From, st.Kind, *st.RTTMS)
			}
		}
	}
	if rtts == 0 {
		t.Error("no RTCP RTT on the customer's streams")
	}
	off := run(false, false)
	for _, p := range off.Participants {
		if p.Name == "customer" && p.Connected {
			t.Errorf("without TURN over TCP the customer still connected: %+v", p.SelectedPair)
		}
	}
}

// TestMeasuredUDPBlocked reproduces a result rtclab diagnose measured
// behind a real firewall (testdata/udp-blocked.json: two network
// namespaces, nftables dropping the client's outgoing UDP; STUN and TURN
// over UDP failed, relay-tcp and relay-tls connected) and runs it: the
// customer relays over TURN/TCP in the lab as on the wire.
func TestMeasuredUDPBlocked(t *testing.T) {
	leakcheck.Check(t)
	data, err := os.ReadFile("testdata/udp-blocked.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := ReadResult(data)
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenarios.Parse("repro.yaml", Scenario(res, Source{From: "testdata/udp-blocked.json"}))
	if err != nil {
		t.Fatal(err)
	}
	s.Duration.Duration = 6 * time.Second
	var rep *reports.Report
	bubble.Run(t, func() {
		rep, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Participants {
		if p.Name != "customer" {
			continue
		}
		if !p.Connected || p.SelectedPair == nil || p.SelectedPair.Local != "relay" || p.SelectedPair.RelayProtocol != "tcp" {
			t.Errorf("customer: connected %v, pair %+v; want relay over TCP", p.Connected, p.SelectedPair)
		}
	}
	if rep.Verdict != "pass" {
		t.Errorf("verdict %s: %+v", rep.Verdict, rep.Checks)
	}
}
