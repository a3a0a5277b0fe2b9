package runner

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/scenarios"
)

// applySchedules changes links as the participants' schedules say, in time
// order from start, until ctx ends; every change is reported to event.
func applySchedules(ctx context.Context, s *scenarios.Scenario, nw netem.Backend, start time.Time, event func(source, kind, detail string)) {
	type change struct {
		scenarios.Scheduled
		host *netem.Host
	}
	var all []change
	for _, p := range s.Participants {
		h, _ := nw.Host(p.Name)
		for _, sc := range p.Schedule {
			all = append(all, change{sc, h})
		}
	}
	slices.SortStableFunc(all, func(a, b change) int { return cmp.Compare(a.At, b.At) })
	for _, c := range all {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(start.Add(c.At))):
		}
		if err := c.host.SetImpairment(c.Dir, c.Imp); err != nil {
			event("runner", "error", fmt.Sprintf("%s %s: %v", c.host.Name, c.Dir, err))
			continue
		}
		event(c.host.Name, "link", fmt.Sprintf("%s: %s", c.Dir, c.Desc))
	}
}
