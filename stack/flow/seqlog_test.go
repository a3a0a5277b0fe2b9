package flow

import (
	"testing"
	"time"
)

// TestSeqLog runs long flows through the log (past 2^15 and several
// wraps) with losses, late arrivals and retransmissions, and checks the
// loss counts against the truth.
func TestSeqLog(t *testing.T) {
	tests := []struct {
		name  string
		first uint16
		n     int
		lose  int // every lose-th packet is lost on its first transmission
		fix   int // every fix-th of those is repaired by a retransmission
	}{
		{"short", 10, 100, 10, 2},
		{"past half the number space", 100, 40_000, 97, 3},
		{"three wraps from near the end", 65500, 200_000, 13, 1},
		{"nothing lost", 0, 70_000, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l seqLog
			t0 := time.Unix(0, 0)
			var want Loss
			pending := []uint16{}
			lost := 0
			for i := range tt.n {
				seq := tt.first + uint16(i)
				l.sent(seq, t0.Add(time.Duration(i)*time.Millisecond))
				want.Sent++
				if tt.lose > 0 && i%tt.lose == 0 {
					want.Lost++
					lost++
					if lost%tt.fix == 0 {
						pending = append(pending, seq) // repaired a little later
					} else {
						want.Unrepaired++
					}
					continue
				}
				if _, onFirst, ok := l.received(seq); !ok || !onFirst {
					t.Fatalf("packet %d: received ok %v on first %v", i, ok, onFirst)
				}
				if len(pending) > 0 && i%5 == 0 {
					s := pending[0]
					pending = pending[1:]
					l.sent(s, t0) // the retransmission
					if _, onFirst, ok := l.received(s); !ok || onFirst {
						t.Fatalf("repair of %d: ok %v on first %v", s, ok, onFirst)
					}
				}
				if _, _, ok := l.received(seq); ok {
					t.Fatalf("packet %d: duplicate accepted", i)
				}
			}
			want.Unrepaired += uint64(len(pending))
			if got := l.loss(t0.Add(time.Hour)); got != want {
				t.Errorf("loss = %+v, want %+v", got, want)
			}
		})
	}
}
