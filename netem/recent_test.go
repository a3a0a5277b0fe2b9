package netem

import (
	"math/rand/v2"
	"testing"
)

// mapRecent is the plain model of recentSet: a map of counts and a ring of
// its keys in first-seen order, the oldest forgotten first.
type mapRecent struct {
	seen   map[identityKey]uint64
	ring   []identityKey
	oldest int
}

func (m *mapRecent) offer(k identityKey) uint64 {
	n, ok := m.seen[k]
	m.seen[k] = n + 1
	if ok {
		return n
	}
	if len(m.ring) < recentIdentities {
		m.ring = append(m.ring, k)
	} else {
		delete(m.seen, m.ring[m.oldest])
		m.ring[m.oldest] = k
		m.oldest = (m.oldest + 1) % recentIdentities
	}
	return 0
}

// TestRecentSetMatchesMap offers streams of identities to recentSet and to
// the map model and compares every answer: new packets in order, resends
// soon after, resends of identities long forgotten, and identities that
// share a home slot (so that deletion has to move entries back).
func TestRecentSetMatchesMap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		keys   func(r *rand.Rand, i int) identityKey
		resend float64 // share of offers that repeat a recent identity
	}{
		{"in order, no resends", 3 * recentIdentities, func(_ *rand.Rand, i int) identityKey { return identityKey{0x260, uint64(i)} }, 0},
		{"resends", 4 * recentIdentities, func(_ *rand.Rand, i int) identityKey { return identityKey{uint64(0x200 | i%3), uint64(i)} }, 0.2},
		{"small key space", 5 * recentIdentities, func(r *rand.Rand, _ int) identityKey {
			return identityKey{uint64(r.IntN(3)), uint64(r.IntN(3 * recentIdentities))}
		}, 0.1},
		{"few", 100, func(r *rand.Rand, _ int) identityKey { return identityKey{1, uint64(r.IntN(40))} }, 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var s recentSet
			m := &mapRecent{seen: map[identityKey]uint64{}}
			var last []identityKey
			for i := range tc.n {
				k := tc.keys(r, i)
				if len(last) > 0 && r.Float64() < tc.resend {
					k = last[r.IntN(len(last))]
				}
				last = append(last, k)
				if len(last) > 64 {
					last = last[1:]
				}
				if got, want := s.offer(k), m.offer(k); got != want {
					t.Fatalf("offer %d of %v: %d, model %d", i, k, got, want)
				}
			}
			if s.size != len(m.seen) {
				t.Fatalf("holds %d identities, model %d", s.size, len(m.seen))
			}
		})
	}
}

// BenchmarkFatesOccurrence is a link's identity bookkeeping for a stream
// of media packets with a resend now and then, as quickstart's links see
// them.
func BenchmarkFatesOccurrence(b *testing.B) {
	f := newFates(1, "h/downlink")
	b.ReportAllocs()
	for i := range b.N {
		idx := uint64(i)
		if i%50 == 49 {
			idx -= 10 // a retransmission
		}
		f.occurrence(0x260, idx)
	}
}
