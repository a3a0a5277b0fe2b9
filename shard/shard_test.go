package shard

import (
	"errors"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  bool
	}{
		{"", Shard{}, false},
		{"0/3", Shard{0, 3}, false},
		{"2/3", Shard{2, 3}, false},
		{"0/1", Shard{0, 1}, false},
		{"3/3", Shard{}, true},
		{"-1/3", Shard{}, true},
		{"1/0", Shard{}, true},
		{"1", Shard{}, true},
		{"a/b", Shard{}, true},
		{"0/10001", Shard{}, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): %v does not wrap ErrSyntax", tc.in, err)
		}
	}
}

// Every cell is in exactly one shard, and the slices are balanced.
func TestShardsPartition(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7} {
		for _, cells := range []int{0, 1, 5, 22} {
			seen := make([]int, cells)
			for i := range n {
				idx := Shard{i, n}.Indices(cells)
				if !slices.IsSorted(idx) {
					t.Errorf("%d/%d of %d: not ascending %v", i, n, cells, idx)
				}
				if len(idx) < cells/n || len(idx) > cells/n+1 {
					t.Errorf("%d/%d of %d: %d cells, unbalanced", i, n, cells, len(idx))
				}
				for _, c := range idx {
					seen[c]++
				}
			}
			for c, k := range seen {
				if k != 1 {
					t.Errorf("N=%d, %d cells: cell %d in %d shards", n, cells, c, k)
				}
			}
		}
	}
	if got := (Shard{}).Indices(3); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("zero shard: %v, want every cell", got)
	}
}
