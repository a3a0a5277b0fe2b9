package agent

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The compact frame log gives back every frame as added, and ShownWithin
// over it counts what a scan of the whole log counts (windows up to
// maxShownWindow).
func TestFrameStore(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	t0 := time.Now()
	var want []Frame
	var s frameStore
	at, ts := t0, r.Uint32()
	for i := range 100_000 {
		at = at.Add(time.Duration(r.Int64N(int64(70 * time.Millisecond))))
		ts += uint32(r.IntN(6000))
		fr := Frame{At: at, Timestamp: ts, Keyframe: i%300 == 0, Decodable: r.IntN(10) > 0, Size: r.IntN(40000), LostBefore: r.IntN(3) * r.IntN(2)}
		want = append(want, fr)
		s.add(fr)
		if i%4999 == 0 {
			for _, w := range []time.Duration{time.Second, 3 * time.Second, maxShownWindow} {
				rx := &Receiver{}
				rx.frames.frames = s
				now := at.Add(time.Duration(r.Int64N(int64(2 * time.Second))))
				got, started := rx.ShownWithin(now, w)
				n := 0
				for j := len(want) - 1; j >= 0 && now.Sub(want[j].At) < w; j-- {
					if want[j].Decodable {
						n++
					}
				}
				if got != n || !started {
					t.Fatalf("frame %d, window %v: ShownWithin %d %v, want %d", i, w, got, started, n)
				}
			}
		}
	}
	got, err := s.all()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, func(a, b Frame) bool {
		return a.At.Sub(b.At) == 0 && a.Timestamp == b.Timestamp && a.Keyframe == b.Keyframe && a.Decodable == b.Decodable &&
			a.Size == b.Size && a.LostBefore == b.LostBefore && a.Data == nil
	}) {
		t.Fatal("frames differ")
	}
	held := cap(s.recent)*72 + s.log.InMemory()
	if per := float64(held) / float64(len(want)); per > 16 || s.log.OnDisk() == 0 {
		t.Errorf("%.1f bytes held per frame, %d spilled; want at most 16 held (a []Frame holds 72-144), the rest spilled", per, s.log.OnDisk())
	}
	// Recording keeps frames whole, data included.
	rec := frameStore{record: true}
	rec.add(Frame{At: t0, Data: []byte{1, 2}})
	rec.add(Frame{At: t0.Add(time.Millisecond)})
	if all, err := rec.all(); err != nil || len(all) != 2 || string(all[0].Data) != "\x01\x02" {
		t.Errorf("recorded frames %+v", all)
	}
}

// A sender's frame indexes come back as added, runs or not.
func TestFrameRuns(t *testing.T) {
	in := []int{0, 1, 2, 3, 90, 91, 92, 0, 1, 5, 5, 4}
	var r frameRuns
	if r.all() != nil {
		t.Error("empty list is not nil")
	}
	for _, i := range in {
		r.add(i)
	}
	if got := r.all(); !slices.Equal(got, in) {
		t.Errorf("got %v, want %v", got, in)
	}
	if len(r.runs) != 6 {
		t.Errorf("%d runs, want 6", len(r.runs))
	}
}
