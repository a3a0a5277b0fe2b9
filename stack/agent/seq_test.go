package agent

import "testing"

func TestSeqCounter(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint16
		want SeqCounts
	}{
		{"in order", []uint16{10, 11, 12}, SeqCounts{Expected: 3, Unique: 3}},
		{"one lost", []uint16{10, 12}, SeqCounts{Expected: 3, Unique: 2}},
		{"repaired late", []uint16{10, 12, 13, 11}, SeqCounts{Expected: 4, Unique: 4}},
		{"duplicate", []uint16{10, 11, 11, 12}, SeqCounts{Expected: 3, Unique: 3, Duplicates: 1}},
		{"wrap", []uint16{65534, 65535, 0, 1}, SeqCounts{Expected: 4, Unique: 4}},
		{"wrap with loss and late repair", []uint16{65534, 0, 1, 65535}, SeqCounts{Expected: 4, Unique: 4}},
		{"older than first", []uint16{100, 101, 99}, SeqCounts{Expected: 2, Unique: 2, Duplicates: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seqCounter
			for _, q := range tt.seqs {
				s.add(q, 0)
			}
			if got := s.counts(); got != tt.want {
				t.Errorf("counts = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSeqCounterLongRun(t *testing.T) {
	var s seqCounter
	lost := 0
	for i := 0; i < 200000; i++ {
		if i%50 == 7 {
			lost++
			continue
		}
		s.add(uint16(i), 100)
	}
	c := s.counts()
	if c.Expected != 200000 || c.Lost() != uint64(lost) || c.Duplicates != 0 {
		t.Fatalf("counts = %+v (lost %d), want expected 200000, lost %d", c, c.Lost(), lost)
	}
}

// TestLossFraction: loss after repair is the sequence numbers never
// received over those expected (RFC 3550 appendix A.3), whatever arrived
// twice or late.
func TestLossFraction(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint16
		want float64
	}{
		{"nothing", nil, 0},
		{"clean", []uint16{1, 2, 3, 4}, 0},
		{"one of four lost", []uint16{1, 2, 4}, 0.25},
		{"duplicate does not hide a loss", []uint16{1, 2, 2, 4}, 0.25},
		{"reordered, two of ten lost", []uint16{1, 5, 3, 7, 8, 6, 2, 10}, 0.2},
		{"repaired late", []uint16{1, 3, 4, 2}, 0},
		{"wrap with a loss", []uint16{65534, 0, 1, 2}, 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seqCounter
			for _, q := range tt.seqs {
				s.add(q, 0)
			}
			if got := s.counts().LossFraction(); got != tt.want {
				t.Errorf("LossFraction = %v, want %v (%+v)", got, tt.want, s.counts())
			}
		})
	}
}
