package flow_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/stack/flow"
)

// network builds a sender host whose uplink is the bottleneck and a
// receiver host.
func network(t *testing.T, rate int64, delay time.Duration) (*netem.Network, *netem.Host, *netem.Host) {
	t.Helper()
	nw, err := netem.New(netem.Config{Seed: 1, Hosts: []netem.HostConfig{
		{Name: "a", Uplink: netem.Impairment{Rate: rate, QueueDelay: 300 * time.Millisecond, Delay: delay}},
		{Name: "b"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := nw.Host("a")
	b, _ := nw.Host("b")
	return nw, a, b
}

func rateOf(bytes uint64, d time.Duration) float64 { return float64(bytes) * 8 / d.Seconds() }

// TestMediaFollowsCapacity runs one GCC flow over a 1 Mbps bottleneck: its
// estimate must leave the 150 kbps start, and what it sends must stay
// near what the link carries.
func TestMediaFollowsCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw, a, b := network(t, 1_000_000, 50*time.Millisecond)
		defer nw.Close()
		m, err := flow.NewMedia(flow.MediaParams{Name: "v", SendNet: a.Net, RecvNet: b.Net, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := m.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		start := time.Now().Add(2500 * time.Microsecond)
		dur := 30 * time.Second
		if err := m.Run(ctx, start, start.Add(dur), nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		c := m.Counters()
		loss := m.Loss(start.Add(dur - time.Second))
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		sent, recv := rateOf(c.SentBytes, dur), rateOf(c.ReceivedBytes, dur)
		t.Logf("sent %.0f kbps, received %.0f kbps, estimate %d, loss %+v, feedback %d bytes", sent/1000, recv/1000, c.Estimate, loss, c.FeedbackBytes)
		if c.Estimate <= 150_000 {
			t.Errorf("estimate %d never left the start", c.Estimate)
		}
		// GCC ramps up from 150 kbps by about 8 %/s: the mean over 30 s
		// is well below the capacity, but what is sent arrives.
		if sent < 300_000 || sent > 1_000_000 || recv < 0.97*sent {
			t.Errorf("sent %.0f bit/s, received %.0f bit/s over a 1 Mbps link", sent, recv)
		}
		// TWCC feedback every 100 ms at least (RFC 8867 section 4.1 item
		// 1.D): some bytes a second, a small part of the media.
		if c.FeedbackBytes < 30*10*16 || c.FeedbackBytes > c.ReceivedBytes/20 {
			t.Errorf("feedback %d bytes against %d of media", c.FeedbackBytes, c.ReceivedBytes)
		}
		if loss.Sent == 0 || loss.Unrepaired > loss.Sent/100 || len(m.TakeDelays()) == 0 {
			t.Errorf("loss %+v", loss)
		}
	})
}

// TestCrossTraffic runs CBR and the TCP-like flow over 1 Mbps: CBR
// delivers its rate, and TCP takes most of what is left, backing off
// when the queue overflows.
func TestCrossTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw, a, b := network(t, 1_000_000, 20*time.Millisecond)
		defer nw.Close()
		ep := func(port int, ssrc uint32) flow.Endpoints {
			return flow.Endpoints{SendNet: a.Net, RecvNet: b.Net, SSRC: ssrc,
				SendAddr: fmt.Sprintf("%s:%d", a.IP, port), RecvAddr: fmt.Sprintf("%s:%d", b.IP, port)}
		}
		cbr, err := flow.NewCBR("cbr", ep(5000, 1), 300_000, 0)
		if err != nil {
			t.Fatal(err)
		}
		cbr.LogPackets()
		tcp, err := flow.NewTCP("tcp", flow.TCPParams{Endpoints: ep(5001, 2), Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		start := time.Now().Add(time.Millisecond)
		dur := 30 * time.Second
		done := make(chan error, 2)
		go func() { done <- cbr.Run(ctx, start, start.Add(dur)) }()
		go func() { done <- tcp.Run(ctx, start.Add(1300*time.Microsecond), start.Add(dur)) }()
		for range 2 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		c, tc := cbr.Counters(), tcp.Counters()
		sentLog, recvLog := cbr.PacketLog()
		if err := errors.Join(cbr.Close(), tcp.Close()); err != nil {
			t.Fatal(err)
		}
		// Background UDP fills the path MTU (RFC 8868 section 5.3), and
		// the RFC 8868 section 3.1 log holds every packet once.
		if c.SentPackets == 0 || c.SentBytes != c.SentPackets*flow.MTUPayload {
			t.Errorf("cbr sent %d bytes in %d packets, want %d-byte payloads", c.SentBytes, c.SentPackets, flow.MTUPayload)
		}
		if uint64(len(sentLog)) != c.SentPackets || uint64(len(recvLog)) != c.ReceivedPackets {
			t.Errorf("log holds %d sent and %d received, counters %d and %d", len(sentLog), len(recvLog), c.SentPackets, c.ReceivedPackets)
		}
		for i, r := range sentLog {
			if r.Seq != uint16(i) || r.SSRC != 1 || r.PayloadSize != flow.MTUPayload-12 {
				t.Fatalf("sent record %d: %+v", i, r)
			}
		}
		cbrRate, tcpRate := rateOf(c.ReceivedBytes, dur), rateOf(tc.ReceivedBytes, dur)
		if cbrRate < 250_000 || cbrRate > 310_000 {
			t.Errorf("cbr received %.0f bit/s, want about 300k", cbrRate)
		}
		if tcpRate < 450_000 || cbrRate+tcpRate > 1_000_000 {
			t.Errorf("tcp received %.0f bit/s beside cbr's %.0f over 1 Mbps", tcpRate, cbrRate)
		}
		if tc.SentBytes <= tc.ReceivedBytes {
			t.Errorf("tcp never lost a segment to the full queue (sent %d, received %d): it does not probe", tc.SentBytes, tc.ReceivedBytes)
		}
	})
}
