package runner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// faultCall is a two-party SFU call with a timeline; bob is behind
// the given NAT.
func faultCall(t *testing.T, topology, bobNAT, duration, timeline string) *scenarios.Scenario {
	t.Helper()
	src := fmt.Sprintf(`name: faults
topology: %s
duration: %s
participants:
  - name: alice
    nat: port-restricted-cone
    publish: [audio, video]
  - name: bob
    nat: %s
    publish: [audio, video]
    uplink: {delay: 15ms}
    downlink: {delay: 15ms}
timeline:
%s`, topology, duration, bobNAT, timeline)
	s, err := scenarios.Parse("faults.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func logFaults(t *testing.T, rep *reports.Report) {
	t.Helper()
	for _, e := range rep.Events {
		switch e.Kind {
		case "fault", "recovered", "not-recovered", "stopped", "started", "ice-restart", "dropped", "republish",
			"signaling-lost", "signaling-rejoined", "error", "connection-state", "media-silent", "rebound":
			t.Logf("%7.3f %s %s %s", e.T, e.Source, e.Kind, e.Detail)
		}
	}
	for _, s := range rep.Streams {
		rec := "-"
		if s.RecoveryMS != nil {
			rec = fmt.Sprint(*s.RecoveryMS)
		}
		fz := ""
		if s.Video != nil {
			fz = fmt.Sprintf(" freezes %d %.0f ms fps %.1f", s.Video.FreezeCount, s.Video.FreezeMS, s.Video.FPS)
		}
		t.Logf("%s->%s %s: recovery %s ms, received %d, loss %.4f%s", s.From, s.To, s.Kind, rec, s.PacketsReceived, s.LossFraction, fz)
	}
}

func TestFaultTURNRestartRelayOnlyPath(t *testing.T) {
	s := faultCall(t, "sfu", "udp-blocked", "20s", "  - {at: 6s, restart: turn}\n")
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	logFaults(t, rep)
	_ = strings.Contains
}

func TestFaultProbe(t *testing.T) {
	for _, tl := range []string{"  - {at: 6s, restart: sfu}\n", "  - {at: 6s, restart: signaling}\n", "  - {at: 6s, ice_restart: bob}\n", "  - {at: 6s, flap: bob, for: 2s}\n", "  - {at: 6s, rebind: bob}\n"} {
		t.Run(strings.Fields(tl)[3], func(t *testing.T) {
			s := faultCall(t, "sfu", "port-restricted-cone", "14s", tl)
			rep, err := runVirtual(t, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			logFaults(t, rep)
		})
	}
}
