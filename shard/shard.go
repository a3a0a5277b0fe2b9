package shard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Max is the largest shard count accepted.
const Max = 10000

// ErrSyntax is wrapped by every error of Parse.
var ErrSyntax = errors.New("bad shard")

// Shard is slice Index (0-based) of Count. The zero value (Count 0) means
// no sharding: every cell.
type Shard struct {
	// Index is this slice, 0 <= Index < Count.
	Index int `json:"index"`
	// Count is how many slices the cells are cut into.
	Count int `json:"count"`
}

// Parse reads "I/N" (0 <= I < N <= Max), the form of --shard; the empty
// string is the zero Shard.
func Parse(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	i, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.Atoi(strings.TrimSpace(i))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("%w %q: want I/N, e.g. 0/3 (I from 0 to N-1)", ErrSyntax, s)
	case count < 1 || count > Max:
		return Shard{}, fmt.Errorf("%w %q: N must be 1..%d", ErrSyntax, s, Max)
	case index < 0 || index >= count:
		return Shard{}, fmt.Errorf("%w %q: I must be 0..%d", ErrSyntax, s, count-1)
	}
	return Shard{Index: index, Count: count}, nil
}

// Active reports whether s selects a slice (Count > 1 or an explicit 0/1).
func (s Shard) Active() bool { return s.Count > 0 }

// Has reports whether cell i (its stable index in the whole list) belongs
// to this shard.
func (s Shard) Has(i int) bool { return s.Count <= 1 || i%s.Count == s.Index }

// Indices lists the cells of n that belong to this shard, ascending.
func (s Shard) Indices(n int) []int {
	var out []int
	for i := range n {
		if s.Has(i) {
			out = append(out, i)
		}
	}
	return out
}

// String is "I/N", or "" for the zero Shard.
func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
