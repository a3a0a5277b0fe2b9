package analysis

import (
	"math/rand/v2"
	"testing"
)

// TestSeqSet: the set agrees with a map on numbers added in order, in
// reverse, at random around a point, negative, across 64-bit words, and
// far apart (past maxSeqSpan, where it turns into a map).
func TestSeqSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := map[string][]int64{
		"in order":        seq(0, 5000, 1),
		"reverse":         seq(5000, 0, -1),
		"negative":        seq(-300, 300, 7),
		"word edges":      {63, 64, -64, -65, 127, 128, 0, -1},
		"far apart":       {10, 10 + maxSeqSpan, 10 - maxSeqSpan, 11, 10},
		"just inside cap": {0, maxSeqSpan - 65, 1},
	}
	var random []int64
	for range 20000 {
		random = append(random, 70000+int64(r.IntN(40000))-20000)
	}
	cases["random"] = random
	for name, xs := range cases {
		t.Run(name, func(t *testing.T) {
			var s seqSet
			want := map[int64]bool{}
			for _, x := range xs {
				if got := s.add(x); got != !want[x] {
					t.Fatalf("add(%d) = %v, want %v", x, got, !want[x])
				}
				want[x] = true
			}
			if s.len() != len(want) {
				t.Errorf("len %d, want %d", s.len(), len(want))
			}
			for _, x := range xs {
				for _, y := range []int64{x - 1, x, x + 1, x + 64, x - 64} {
					if s.has(y) != want[y] {
						t.Fatalf("has(%d) = %v, want %v", y, s.has(y), want[y])
					}
				}
			}
			if len(s.bits) > maxSeqSpan/64 {
				t.Errorf("bitmap of %d words, bound %d", len(s.bits), maxSeqSpan/64)
			}
		})
	}
}

func seq(from, to, step int64) []int64 {
	var out []int64
	for x := from; step > 0 && x < to || step < 0 && x > to; x += step {
		out = append(out, x)
	}
	return out
}
