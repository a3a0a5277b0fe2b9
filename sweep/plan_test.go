package sweep

import (
	"errors"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/scenarios"
)

func quickstart(t *testing.T) ([]byte, string) {
	t.Helper()
	data, file, err := scenarios.Read("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	return data, file
}

func mustVary(t *testing.T, flags ...string) []Axis {
	t.Helper()
	var out []Axis
	for _, f := range flags {
		a, err := ParseVary(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// Each cell is the scenario with the fields set, validated like a file.
func TestPlanSetsFields(t *testing.T) {
	data, file := quickstart(t)
	p, err := NewPlan(file, data, mustVary(t,
		"participants.bob.downlink.loss=0%..2%/2%",
		"seed=3,4",
		"participants.0.uplink.jitter=5ms", // a field the file leaves out
		"participants.alice.nat=symmetric", // a preset replacing a preset
	), []string{"freeze_count", "mos"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cells) != 4 {
		t.Fatalf("%d cells, want 2 x 2 x 1 x 1", len(p.Cells))
	}
	for i, want := range []struct {
		loss float64
		seed int64
	}{{0, 3}, {0, 4}, {0.02, 3}, {0.02, 4}} {
		c := p.Cells[i]
		s := c.Scenario
		bob := s.Participants[1]
		if c.Index != i || bob.Downlink.Loss == nil || bob.Downlink.Loss.Value != want.loss || s.Seed != want.seed {
			t.Errorf("cell %d (%v): loss %v seed %d, want %v %d", i, c.Values, bob.Downlink.Loss, s.Seed, want.loss, want.seed)
		}
		if bob.Downlink.Delay.Duration.Milliseconds() != 40 {
			t.Errorf("cell %d: bob's delay %v, want the file's 40ms kept", i, bob.Downlink.Delay)
		}
		alice := s.Participants[0]
		if alice.NAT.Preset != "symmetric" || alice.Uplink.Jitter.Duration.Milliseconds() != 5 || alice.Uplink.Delay.Duration.Milliseconds() != 10 {
			t.Errorf("cell %d: alice nat %q jitter %v delay %v", i, alice.NAT.Preset, alice.Uplink.Jitter, alice.Uplink.Delay)
		}
		if s.Name != "quickstart" || len(s.Expect) != 7 {
			t.Errorf("cell %d: name %q, %d checks: the rest of the file must stay", i, s.Name, len(s.Expect))
		}
	}
}

// Bad paths and values are usage errors that name the --vary flag and
// say what is allowed.
func TestPlanErrorsNameTheFlag(t *testing.T) {
	data, file := quickstart(t)
	for _, tc := range []struct {
		flag   string
		metric string
		want   []string
	}{
		{"participants.carol.downlink.loss=1%", "", []string{`"participants.carol.downlink.loss=1%"`, "alice, bob or an index 0..1"}},
		{"participants.5.downlink.loss=1%", "", []string{"participants has no item \"5\""}},
		{"participants.bob.downlinx.loss=1%", "", []string{`"participants.bob.downlinx.loss=1%"`, "quickstart.yaml: participants[1].downlinx: unknown field"}},
		// The line is the field's in the scenario file (27), not in the
		// re-encoded cell.
		{"participants.bob.downlink.loss=0..10/1", "", []string{`"participants.bob.downlink.loss=0..10/1"`, "value 2", "quickstart.yaml:27: participants[1].downlink.loss"}},
		{"participants.bob.nat.mapping=x", "", []string{"nat is \"symmetric\", not a mapping"}},
		{"participants.bob.downlink.loss=x,y", "", []string{`"participants.bob.downlink.loss=x,y"`, `"x" is not a number`}},
		{"participants.bob.nat=sideways", "", []string{`"participants.bob.nat=sideways"`, "sideways", "symmetric"}},
		{"duration.seconds=3", "", []string{`"duration.seconds=3"`, "duration is \"30s\""}},
		{"seed=1", "freezes", []string{`bad --metric "freezes"`, "freeze_count"}},
		{"seed=1", "layer", []string{`bad --metric "layer"`}},
	} {
		var metrics []string
		if tc.metric != "" {
			metrics = []string{tc.metric}
		}
		_, err := NewPlan(file, data, mustVary(t, tc.flag), metrics)
		if err == nil {
			t.Errorf("%s: no error", tc.flag)
			continue
		}
		if !errors.Is(err, ErrVary) && !errors.Is(err, ErrMetric) {
			t.Errorf("%s: %v wraps neither ErrVary nor ErrMetric", tc.flag, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.flag, err, w)
			}
		}
	}
}

func TestPlanDefaultMetrics(t *testing.T) {
	data, file := quickstart(t)
	p, err := NewPlan(file, data, mustVary(t, "seed=1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "connected time_to_connect_ms loss_fraction nack_count bitrate_kbps"
	if got := strings.Join(p.Metrics, " "); got != want {
		t.Errorf("default metrics %q, want the expect entries' %q", got, want)
	}
}
