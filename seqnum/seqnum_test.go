package seqnum

import (
	"math/rand/v2"
	"testing"
)

func TestExtend(t *testing.T) {
	tests := []struct {
		name string
		ref  int64
		v    uint16
		want int64
	}{
		{"same", 1000, 1000, 1000},
		{"next", 1000, 1001, 1001},
		{"previous", 1000, 999, 999},
		{"forward across the wrap", 65535, 0, 65536},
		{"backward across the wrap", 65536, 65535, 65535},
		{"half way counts forward", 0, 1 << 15, 1 << 15},
		{"just under half way back", 1 << 15, 1, 1},
		{"just over half way is back", 0, 1<<15 + 1, -(1<<15 - 1)},
		{"far into the call", 40 * 65536, 5, 40*65536 + 5},
		{"far into the call, late", 40*65536 + 3, 65534, 40*65536 - 2},
		{"negative reference", -3, 65535, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Extend(tt.ref, tt.v); got != tt.want {
				t.Errorf("Extend(%d, %d) = %d, want %d", tt.ref, tt.v, got, tt.want)
			}
		})
	}
}

func TestExtendTimestamp(t *testing.T) {
	tests := []struct {
		name string
		ref  int64
		v    uint32
		want int64
	}{
		{"same", 90000, 90000, 90000},
		{"forward across the wrap", 1<<32 - 3000, 3000, 1<<32 + 3000},
		{"backward across the wrap", 1<<32 + 10, 1<<32 - 10, 1<<32 - 10},
		{"half way counts forward", 0, 1 << 31, 1 << 31},
		{"just over half way is back", 0, 1<<31 + 1, -(1<<31 - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExtendTimestamp(tt.ref, tt.v); got != tt.want {
				t.Errorf("ExtendTimestamp(%d, %d) = %d, want %d", tt.ref, tt.v, got, tt.want)
			}
		})
	}
}

// TestUnwrapperLongStream runs a stream of ten wraps with reordering and
// late retransmissions and checks every number against the truth: the
// property a comparison against a fixed reference loses after 2^15.
func TestUnwrapperLongStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 10 << 16
	base := int64(rng.IntN(1 << 16))
	var u Unwrapper
	late := []int64{}
	for i := int64(0); i < n; i++ {
		truth := base + i
		if rng.IntN(10) == 0 {
			late = append(late, truth) // delivered later, out of order
			continue
		}
		if got := u.Unwrap(uint16(truth)); got != truth {
			t.Fatalf("packet %d: got %d, want %d", i, got, truth)
		}
		for len(late) > 0 && rng.IntN(3) == 0 {
			l := late[0]
			late = late[1:]
			if got := u.Unwrap(uint16(l)); got != l {
				t.Fatalf("late packet %d: got %d, want %d", l-base, got, l)
			}
		}
	}
	if h, _ := u.Highest(); h < base+n-1-int64(len(late)) || h > base+n-1 {
		t.Errorf("highest %d, want about %d", h, base+n-1)
	}
}

func TestTimestampUnwrapper(t *testing.T) {
	var u TimestampUnwrapper
	ts := uint32(1<<32 - 9000)
	want := int64(ts)
	for i := 0; i < 10; i++ {
		if got := u.Unwrap(ts); got != want {
			t.Fatalf("frame %d: got %d, want %d", i, got, want)
		}
		// an audio frame late by one
		if i > 0 {
			if got := u.Unwrap(ts - 3000); got != want-3000 {
				t.Fatalf("late frame %d: got %d, want %d", i, got, want-3000)
			}
		}
		ts += 3000
		want += 3000
	}
}

// FuzzExtend checks that Extend is congruent to its input and within half
// the number space of the reference, for any reference.
func FuzzExtend(f *testing.F) {
	f.Add(int64(0), uint16(0))
	f.Add(int64(65535), uint16(0))
	f.Add(int64(1<<40), uint16(1<<15))
	f.Add(int64(-70000), uint16(65535))
	f.Fuzz(func(t *testing.T, ref int64, v uint16) {
		if ref > 1<<60 || ref < -(1<<60) {
			return
		}
		e := Extend(ref, v)
		if uint16(e) != v {
			t.Fatalf("Extend(%d, %d) = %d: not congruent", ref, v, e)
		}
		if d := e - ref; d <= -(1<<15) || d > 1<<15 {
			t.Fatalf("Extend(%d, %d) = %d: %d from the reference", ref, v, e, d)
		}
		te := ExtendTimestamp(ref, uint32(v)<<16|uint32(v))
		if uint32(te) != uint32(v)<<16|uint32(v) {
			t.Fatalf("ExtendTimestamp not congruent")
		}
		if d := te - ref; d <= -(1<<31) || d > 1<<31 {
			t.Fatalf("ExtendTimestamp(%d) %d from the reference", ref, d)
		}
	})
}
