package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rtclab/rtclab/netem"
)

// Fault is one step of a scenario's timeline: something that happens to
// the call at a scenario time, once. Exactly one of Restart, ICERestart,
// Rebind and Flap is set.
//
//	timeline:
//	  - {at: 10s, restart: turn}       # turn, sfu or signaling
//	  - {at: 12s, ice_restart: bob}    # bob's client restarts ICE (RFC 8445 section 9)
//	  - {at: 14s, rebind: bob}         # bob's NAT maps his sockets to new ports
//	  - {at: 15s, flap: bob, for: 2s}  # bob's access link down both ways for 2s
type Fault struct {
	// At is when it happens, e.g. "10s".
	At Duration `yaml:"at"`
	// Restart stops an embedded server (closing its sockets and dropping
	// its state) and starts a fresh one on the same address For later
	// (default 500ms): turn, sfu or signaling.
	Restart string `yaml:"restart"`
	// ICERestart names a participant whose client restarts ICE on every
	// connection (an offer with new ICE credentials).
	ICERestart string `yaml:"ice_restart"`
	// Rebind names a participant whose NAT drops its mappings, as after
	// a timeout: each of its sockets gets a new external port (RFC 4787
	// section 4.3), and packets to the old one are lost.
	Rebind string `yaml:"rebind"`
	// Flap names a participant whose access link goes down in both
	// directions for For (required), then comes back as it was: the same
	// thing as a link schedule's down: true and down: false.
	Flap string `yaml:"flap"`
	// For is how long a flap lasts, or a restarted server stays away.
	For Duration `yaml:"for"`
}

// Servers a timeline step can restart.
const (
	RestartTURN      = "turn"
	RestartSFU       = "sfu"
	RestartSignaling = "signaling"
)

// DefaultRestartGap is how long a restarted server stays away when the
// step gives no for:.
const DefaultRestartGap = 500 * time.Millisecond

// maxFaultGap bounds for:, so a step cannot outlast a long scenario by
// accident.
const maxFaultGap = 10 * time.Minute

// Kind names what the step does: "restart", "ice_restart", "rebind" or
// "flap".
func (f Fault) Kind() string {
	switch {
	case f.Restart != "":
		return "restart"
	case f.ICERestart != "":
		return "ice_restart"
	case f.Rebind != "":
		return "rebind"
	case f.Flap != "":
		return "flap"
	}
	return ""
}

// Target is the server or participant the step acts on.
func (f Fault) Target() string { return f.Restart + f.ICERestart + f.Rebind + f.Flap }

// Gap is how long the fault keeps its target away: For, or
// DefaultRestartGap for a restart without one.
func (f Fault) Gap() time.Duration {
	if f.Restart != "" && f.For.Duration == 0 {
		return DefaultRestartGap
	}
	return f.For.Duration
}

// String describes the step for events and reports, e.g. "restart turn".
func (f Fault) String() string {
	s := strings.ReplaceAll(f.Kind(), "_", " ") + " " + f.Target()
	if f.For.Duration > 0 {
		s += fmt.Sprintf(" for %v", f.For.Duration)
	}
	return s
}

// validateTimeline checks the timeline's steps and turns every flap into
// two steps of its participant's link schedules, so the links change in one
// place (the runner's schedule).
func (s *Scenario) validateTimeline(bad func(msg string, path ...any), names map[string]bool) {
	for i, e := range s.Expect {
		if e.Metric == "recovery_ms" && len(s.Timeline) == 0 {
			bad("recovery_ms measures recovery from timeline faults: add a timeline (e.g. - {at: 10s, restart: turn})", "expect", i, "metric")
		}
	}
	if len(s.Timeline) > 0 && s.Topology == TopologyFlows {
		bad("timeline faults belong to call topologies (sfu, p2p); the flows topology has link schedules", "timeline")
		return
	}
	for i, f := range s.Timeline {
		at := func(rest ...any) []any { return append([]any{"timeline", i}, rest...) }
		set := 0
		for _, v := range []string{f.Restart, f.ICERestart, f.Rebind, f.Flap} {
			if v != "" {
				set++
			}
		}
		if set != 1 {
			bad("every step needs exactly one of restart, ice_restart, rebind, flap", at()...)
			continue
		}
		switch {
		case f.At.line == 0:
			bad("every step needs at: (e.g. at: 10s)", at()...)
		case f.At.Duration < 0 || f.At.Duration >= s.Duration.Duration:
			bad(fmt.Sprintf("%v is outside the scenario (0..%v)", f.At.Duration, s.Duration.Duration), at("at")...)
		}
		if f.For.Duration < 0 || f.For.Duration > maxFaultGap {
			bad(fmt.Sprintf("%v is outside 0..%v", f.For.Duration, maxFaultGap), at("for")...)
		}
		switch {
		case f.Restart != "":
			switch f.Restart {
			case RestartTURN:
				if !s.UseTURN() {
					bad("restart: turn needs the TURN server (ice: turn: true)", at("restart")...)
				}
			case RestartSFU:
				if s.Topology != "sfu" {
					bad(fmt.Sprintf("restart: sfu needs the sfu topology, not %s", s.Topology), at("restart")...)
				}
			case RestartSignaling:
			default:
				bad(fmt.Sprintf("unknown server %q (allowed: %s, %s, %s)", f.Restart, RestartTURN, RestartSFU, RestartSignaling), at("restart")...)
			}
		case f.ICERestart != "", f.Rebind != "":
			key := "ice_restart"
			if f.Rebind != "" {
				key = "rebind"
			}
			if !names[f.Target()] {
				bad(fmt.Sprintf("no participant named %q", f.Target()), at(key)...)
			} else if f.Rebind != "" {
				i := slices.IndexFunc(s.Participants, func(p Participant) bool { return p.Name == f.Rebind })
				s.Participants[i].Resolved.Rebindable = true
			}
			if f.For.line != 0 {
				bad("for applies to restart and flap only", at("for")...)
			}
		case f.Flap != "":
			if !names[f.Flap] {
				bad(fmt.Sprintf("no participant named %q", f.Flap), at("flap")...)
				continue
			}
			if f.For.Duration <= 0 {
				bad("a flap needs for: how long the link stays down (e.g. for: 2s)", at("for")...)
				continue
			}
			s.addFlap(f)
		}
	}
}

// addFlap adds the flap to its participant's schedule: both directions go
// down at At and, For later, back to what the schedule says then; a
// scheduled change inside the flap keeps the link down.
func (s *Scenario) addFlap(f Fault) {
	i := slices.IndexFunc(s.Participants, func(p Participant) bool { return p.Name == f.Flap })
	p := &s.Participants[i]
	start, end := f.At.Duration, f.At.Duration+f.For.Duration
	inForce := func(dir netem.Direction, t time.Duration) netem.Impairment {
		imp := p.Resolved.Uplink
		if dir == netem.Downlink {
			imp = p.Resolved.Downlink
		}
		for _, sc := range p.Schedule {
			if sc.Dir == dir && sc.At <= t {
				imp = sc.Imp
			}
		}
		return imp
	}
	var added []Scheduled
	for _, dir := range []netem.Direction{netem.Uplink, netem.Downlink} {
		down := inForce(dir, start)
		down.Down = true
		added = append(added, Scheduled{At: start, Dir: dir, Imp: down, Desc: "down (" + f.String() + ")"})
		if end < s.Duration.Duration {
			added = append(added, Scheduled{At: end, Dir: dir, Imp: inForce(dir, end), Desc: "up (end of " + f.String() + ")"})
		}
	}
	for j := range p.Schedule {
		if sc := &p.Schedule[j]; sc.At > start && sc.At < end {
			sc.Imp.Down = true
		}
	}
	p.Schedule = append(p.Schedule, added...)
	slices.SortStableFunc(p.Schedule, func(a, b Scheduled) int { return cmp.Compare(a.At, b.At) })
}
