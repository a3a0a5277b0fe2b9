package analysis

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// A PacketLog gives back exactly what was appended, across sequence
// number and timestamp wraps, reordering, equal and backward times, and
// chunk boundaries; and it stays small.
func TestPacketLogRoundTrip(t *testing.T) {
	t0 := time.Now() // with a monotonic reading, as the logs' times have
	tests := []struct {
		name string
		in   []Packet
	}{
		{"empty", nil},
		{"one", []Packet{{Seq: 65535, Timestamp: 1 << 31, At: t0, Size: 1200, RTX: true}}},
		{"wraps and reorders", []Packet{
			{Seq: 65534, Timestamp: 4294967000, At: t0, Size: 100},
			{Seq: 65535, Timestamp: 4294967295, At: t0.Add(time.Millisecond), Size: 0, Padding: true},
			{Seq: 1, Timestamp: 500, At: t0.Add(time.Millisecond), Size: 1},
			{Seq: 0, Timestamp: 200, At: t0.Add(-time.Second), Size: 1500, RTX: true},
			{Seq: 40000, Timestamp: 7, At: t0.Add(time.Hour), Size: 1 << 20},
		}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	var long []Packet
	seq, ts, at := uint16(r.Uint32()), r.Uint32(), t0
	for range 300_000 { // spilled to a file
		seq += uint16(1 + r.IntN(3) - 1)
		ts += uint32(r.IntN(3000))
		at = at.Add(time.Duration(r.Int64N(int64(30 * time.Millisecond))))
		long = append(long, Packet{Seq: seq, Timestamp: ts, At: at, Size: r.IntN(1300), RTX: r.IntN(20) == 0, Padding: r.IntN(50) == 0})
	}
	tests = append(tests, struct {
		name string
		in   []Packet
	}{"50,000 random", long})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l PacketLog
			for _, p := range tt.in {
				l.Append(p)
			}
			if l.Len() != len(tt.in) {
				t.Fatalf("Len %d, want %d", l.Len(), len(tt.in))
			}
			got, err := l.Packets()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.in) {
				t.Fatalf("%d packets back, want %d", len(got), len(tt.in))
			}
			for i, p := range tt.in {
				g := got[i]
				if g.Seq != p.Seq || g.Timestamp != p.Timestamp || g.Size != p.Size || g.RTX != p.RTX || g.Padding != p.Padding ||
					!g.At.Equal(p.At) || g.At.Sub(t0) != p.At.Sub(t0) || g.At.Compare(t0) != p.At.Compare(t0) {
					t.Fatalf("packet %d: got %+v, want %+v", i, g, p)
				}
			}
			if !slices.EqualFunc(got, tt.in, func(a, b Packet) bool { return a.At.Sub(b.At) == 0 }) {
				t.Fatal("times differ")
			}
			if len(tt.in) > 1000 {
				if per := float64(l.Bytes()) / float64(len(tt.in)); per > 1 {
					t.Errorf("%.1f bytes per packet held on the heap, want at most 1: spilled (a []Packet holds 48-96)", per)
				}
			}
		})
	}
}

// BenchmarkPacketLogAppend is the cost of logging one packet.
func BenchmarkPacketLogAppend(b *testing.B) {
	var l PacketLog
	t0 := time.Now()
	b.ReportAllocs()
	for i := range b.N {
		l.Append(Packet{Seq: uint16(i), Timestamp: uint32(i * 960), At: t0.Add(time.Duration(i) * 20 * time.Millisecond), Size: 120})
	}
	b.ReportMetric(float64(l.Bytes())/float64(b.N), "B/packet-held")
	b.ReportMetric(float64(l.log.OnDisk())/float64(b.N), "B/packet-spilled")
}

// A view keeps the log as it was when taken: the packets appended after
// it (past the chunk it ends in, and spilled to the file after it) are
// not in it, and reading it needs no lock while the owner appends (run
// with -race). AppendTo decodes into the array it is given.
func TestPacketViewFrozen(t *testing.T) {
	t0 := time.Now()
	var mu sync.Mutex
	var l PacketLog
	var want []Packet
	for i := range 100_003 { // a spilled part, full chunks and a part-filled one
		p := Packet{Seq: uint16(i), Timestamp: uint32(i * 90), At: t0.Add(time.Duration(i) * time.Millisecond), Size: i % 1300}
		l.Append(p)
		want = append(want, p)
	}
	mu.Lock()
	v := l.View()
	mu.Unlock()
	done := make(chan struct{})
	go func() { // the owner goes on, spilling the chunks the view holds
		defer close(done)
		for i := range 200_000 {
			mu.Lock()
			l.Append(Packet{Seq: uint16(i), At: t0.Add(time.Hour), Size: 7, RTX: true})
			mu.Unlock()
		}
	}()
	buf := make([]Packet, 0, len(want))
	for range 3 {
		got, err := v.AppendTo(buf[:0])
		if err != nil {
			t.Fatal(err)
		}
		if v.Len() != len(want) || len(got) != len(want) {
			t.Fatalf("view of %d packets gave %d, want %d", v.Len(), len(got), len(want))
		}
		if &got[0] != &buf[:1][0] {
			t.Fatal("AppendTo did not decode into the array it was given")
		}
		for i, p := range want {
			if g := got[i]; g.Seq != p.Seq || g.Timestamp != p.Timestamp || g.Size != p.Size || g.RTX || g.At.Sub(p.At) != 0 {
				t.Fatalf("packet %d: got %+v, want %+v", i, g, p)
			}
		}
	}
	<-done
	if n, err := l.Packets(); err != nil || len(n) != len(want)+200_000 {
		t.Fatalf("the log itself: %d packets (%v), want %d", len(n), err, len(want)+200_000)
	}
}
