package sweep

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrMerge is wrapped by every error of Merge.
var ErrMerge = errors.New("cannot merge")

// Merge combines the outputs of shards of one sweep into the result the
// unsharded sweep gives: the cells are put together by index (never their
// statistics), and everything derived from them is computed again. Cells
// no part holds are marked not run. The parts must be of one sweep (same
// scenario, axes, metrics and tool), and no cell may appear twice.
func Merge(parts []*Result) (*Result, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no sweep to merge", ErrMerge)
	}
	first := parts[0]
	out := *first
	out.Shard = nil
	out.Cells = nil
	have := map[int]int{} // cell index -> part
	var earliest string
	for i, p := range parts {
		if err := sameSweep(first, p); err != nil {
			return nil, fmt.Errorf("%w: part %d: %w", ErrMerge, i+1, err)
		}
		if earliest == "" || p.StartedAt < earliest {
			earliest = p.StartedAt
		}
		out.WallSeconds = math.Max(out.WallSeconds, p.WallSeconds)
		for _, c := range p.Cells {
			if c.Index < 0 || c.Index >= first.Total {
				return nil, fmt.Errorf("%w: part %d: cell %d outside the sweep's %d cells", ErrMerge, i+1, c.Index, first.Total)
			}
			if j, dup := have[c.Index]; dup {
				return nil, fmt.Errorf("%w: cell %d is in parts %d and %d (a shard given twice?)", ErrMerge, c.Index, j+1, i+1)
			}
			have[c.Index] = i
			out.Cells = append(out.Cells, c)
		}
	}
	for i := range first.Total {
		if _, ok := have[i]; !ok {
			out.Cells = append(out.Cells, Cell{Index: i, Values: cellValues(first.Axes, i), Status: StatusNotRun})
		}
	}
	out.StartedAt = earliest
	out.finish()
	return &out, nil
}

func sameSweep(a, b *Result) error {
	switch {
	case a.Schema != b.Schema:
		return fmt.Errorf("schema %q, not %q", b.Schema, a.Schema)
	case a.Scenario != b.Scenario || a.File != b.File:
		return fmt.Errorf("scenario %s (%s), not %s (%s)", b.Scenario, b.File, a.Scenario, a.File)
	case a.Total != b.Total:
		return fmt.Errorf("%d cells, not %d", b.Total, a.Total)
	case !slices.Equal(a.Metrics, b.Metrics):
		return fmt.Errorf("metrics %v, not %v", b.Metrics, a.Metrics)
	case a.Tool != b.Tool:
		return fmt.Errorf("made by %s, not %s", b.Tool, a.Tool)
	case !slices.EqualFunc(a.Axes, b.Axes, func(x, y Axis) bool { return x.Path == y.Path && slices.Equal(x.Values, y.Values) }):
		return fmt.Errorf("varies other fields or values")
	case (a.Shard == nil) != (b.Shard == nil) || a.Shard != nil && a.Shard.Count != b.Shard.Count:
		return fmt.Errorf("shard %v, not of the same split as %v", b.Shard, a.Shard)
	}
	return nil
}
