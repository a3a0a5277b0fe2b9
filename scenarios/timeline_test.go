package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/netem"
)

func TestParseTimeline(t *testing.T) {
	src := `name: t
duration: 30s
participants:
  - name: alice
  - name: bob
    downlink:
      loss: 1%
      schedule:
        - {at: 11s, loss: 5%}
timeline:
  - {at: 5s, restart: turn}
  - {at: 6s, restart: sfu, for: 2s}
  - {at: 7s, restart: signaling}
  - {at: 8s, ice_restart: bob}
  - {at: 9s, rebind: alice}
  - {at: 10s, flap: bob, for: 2s}
`
	s, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if k, tg := s.Timeline[4].Kind(), s.Timeline[4].Target(); k != "rebind" || tg != "alice" {
		t.Errorf("step 4 is %s %s", k, tg)
	}
	if len(s.Timeline) != 6 {
		t.Fatalf("%d steps", len(s.Timeline))
	}
	if g := s.Timeline[0].Gap(); g != DefaultRestartGap {
		t.Errorf("restart gap %v", g)
	}
	if g := s.Timeline[1].Gap(); g != 2*time.Second {
		t.Errorf("restart for 2s gap %v", g)
	}
	if k, tg := s.Timeline[3].Kind(), s.Timeline[3].Target(); k != "ice_restart" || tg != "bob" {
		t.Errorf("step 3 is %s %s", k, tg)
	}
	// The flap became link steps: both directions down at 10s, the
	// scheduled 5% loss at 11s kept down, and back up at 12s with the
	// loss the schedule gave by then.
	type want struct {
		at   time.Duration
		dir  netem.Direction
		down bool
		loss float64
	}
	var got []want
	for _, sc := range s.Participants[1].Schedule {
		got = append(got, want{sc.At, sc.Dir, sc.Imp.Down, sc.Imp.Loss})
	}
	exp := []want{
		{10 * time.Second, netem.Uplink, true, 0},
		{10 * time.Second, netem.Downlink, true, 0.01},
		{11 * time.Second, netem.Downlink, true, 0.05},
		{12 * time.Second, netem.Uplink, false, 0},
		{12 * time.Second, netem.Downlink, false, 0.05},
	}
	if len(got) != len(exp) {
		t.Fatalf("schedule %+v, want %+v", got, exp)
	}
	for i := range exp {
		if got[i] != exp[i] {
			t.Errorf("step %d: %+v, want %+v", i, got[i], exp[i])
		}
	}
	if !s.Participants[0].Resolved.Rebindable || s.Participants[1].Resolved.Rebindable {
		t.Error("only alice, who is rebound, needs rebindable sockets")
	}
	if len(s.Participants[0].Schedule) != 0 {
		t.Errorf("alice's link changed: %+v", s.Participants[0].Schedule)
	}
}

func TestParseTimelineErrors(t *testing.T) {
	base := "name: t\nduration: 30s\nparticipants:\n  - name: a\ntimeline:\n"
	tests := []struct {
		name, yaml string
		want       string
	}{
		{"unknown server", base + "  - {at: 1s, restart: stun}\n", `t.yaml:6: timeline[0].restart: unknown server "stun" (allowed: turn, sfu, signaling)`},
		{"two actions", base + "  - {at: 1s, restart: turn, flap: a}\n", "t.yaml:6: timeline[0]: every step needs exactly one of restart, ice_restart, rebind, flap"},
		{"no action", base + "  - {at: 1s}\n", "timeline[0]: every step needs exactly one of restart, ice_restart, rebind, flap"},
		{"no at", base + "  - {restart: turn}\n", "timeline[0]: every step needs at: (e.g. at: 10s)"},
		{"after end", base + "  - {at: 30s, restart: turn}\n", "timeline[0].at: 30s is outside the scenario (0..30s)"},
		{"unknown participant", base + "  - {at: 1s, ice_restart: bob}\n", `timeline[0].ice_restart: no participant named "bob"`},
		{"rebind unknown", base + "  - {at: 1s, rebind: bob}\n", `timeline[0].rebind: no participant named "bob"`},
		{"for on rebind", base + "  - {at: 1s, rebind: a, for: 1s}\n", "timeline[0].for: for applies to restart and flap only"},
		{"flap unknown", base + "  - {at: 1s, flap: bob, for: 1s}\n", `timeline[0].flap: no participant named "bob"`},
		{"flap without for", base + "  - {at: 1s, flap: a}\n", "timeline[0].for: a flap needs for:"},
		{"for on ice restart", base + "  - {at: 1s, ice_restart: a, for: 1s}\n", "timeline[0].for: for applies to restart and flap only"},
		{"negative for", base + "  - {at: 1s, restart: turn, for: -1s}\n", "timeline[0].for: -1s is outside 0..10m0s"},
		{"unknown field", base + "  - {at: 1s, reboot: turn}\n", `t.yaml:6: timeline[0].reboot: unknown field "reboot" (allowed: at, restart, ice_restart, rebind, flap, for)`},
		{"sfu in p2p", strings.Replace(base, "duration", "topology: p2p\nduration", 1) + "  - {at: 1s, restart: sfu}\n", "restart: sfu needs the sfu topology, not p2p"},
		{"recovery without faults", "name: t\nduration: 30s\nparticipants:\n  - name: a\nexpect:\n  - {metric: recovery_ms, max: 100}\n",
			"t.yaml:6: expect[0].metric: recovery_ms measures recovery from timeline faults: add a timeline"},
		{"turn off", strings.Replace(base, "duration", "ice: {turn: false}\nduration", 1) + "  - {at: 1s, restart: turn}\n", "restart: turn needs the TURN server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n  %v\nlacks\n  %s", err, tt.want)
			}
		})
	}
}
