package matrix

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrMerge is wrapped by every error of Merge.
var ErrMerge = errors.New("cannot merge")

// Merge combines the outputs of the shards of one grid (--shard I/N) into
// the result the unsharded grid gives: the cells are put together in the
// grid's order (ICE configuration, row, column) and counted again. The
// result is partial when a shard was, or when a cell is in no part.
func Merge(parts []*Result) (*Result, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no matrix to merge", ErrMerge)
	}
	first := parts[0]
	out := *first
	out.Shard, out.Cells, out.Partial = nil, []CellResult{}, false
	order := map[string]int{}
	for i, ice := range first.ICE {
		for j, row := range first.NATs {
			for k, col := range first.NATs {
				order[ice+"|"+row+"|"+col] = (i*len(first.NATs)+j)*len(first.NATs) + k
			}
		}
	}
	seen := map[string]int{}
	for i, p := range parts {
		switch {
		case p.Schema != first.Schema || p.Tool != first.Tool || p.File != first.File || p.Seed != first.Seed ||
			p.CellSeconds != first.CellSeconds || !slices.Equal(p.NATs, first.NATs) || !slices.Equal(p.ICE, first.ICE):
			return nil, fmt.Errorf("%w: part %d is not of the same grid (tool, file, seed, duration, NATs or ICE differ)", ErrMerge, i+1)
		case p.Shard == nil || first.Shard == nil || p.Shard.Count != first.Shard.Count:
			return nil, fmt.Errorf("%w: part %d is not a shard of the same split (%v, %v)", ErrMerge, i+1, p.Shard, first.Shard)
		}
		if p.StartedAt < out.StartedAt {
			out.StartedAt = p.StartedAt
		}
		out.WallSeconds = math.Max(out.WallSeconds, p.WallSeconds)
		out.Partial = out.Partial || p.Partial
		for _, c := range p.Cells {
			key := c.ICE + "|" + c.Row + "|" + c.Col
			if _, ok := order[key]; !ok {
				return nil, fmt.Errorf("%w: part %d: cell %s is not in the grid", ErrMerge, i+1, key)
			}
			if j, dup := seen[key]; dup {
				return nil, fmt.Errorf("%w: cell %s is in parts %d and %d (a shard given twice?)", ErrMerge, key, j+1, i+1)
			}
			seen[key] = i
			out.Cells = append(out.Cells, c)
		}
	}
	slices.SortStableFunc(out.Cells, func(a, b CellResult) int {
		return order[a.ICE+"|"+a.Row+"|"+a.Col] - order[b.ICE+"|"+b.Row+"|"+b.Col]
	})
	if len(out.Cells) < len(order) {
		out.Partial = true
	}
	out.tally()
	return &out, nil
}
