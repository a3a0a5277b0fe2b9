package agent

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/sframe"
)

func TestClearBytes(t *testing.T) {
	key := []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0xaa, 0xbb}
	cases := []struct {
		mime  string
		frame []byte
		want  int
	}{
		{"video/VP8", key, 10},
		{"video/vp8", []byte{0x31, 0x02, 0x00, 0x44, 0x55}, 3},
		{"video/vp8", []byte{0x31}, 1},
		{"audio/opus", []byte{0xfc, 0xff, 0xfe}, 1},
		{"video/H264", []byte{0, 0, 0, 1, 0x65}, 5},
		{"audio/opus", nil, 0},
	}
	for _, c := range cases {
		if got := ClearBytes(c.mime, c.frame); got != c.want {
			t.Errorf("%s %x: %d clear bytes, want %d", c.mime, c.frame, got, c.want)
		}
	}
}

// A sealed VP8 keyframe keeps its 10 clear bytes (so the SFU and the
// receiver still see a keyframe), hides the rest, and opens only with
// the same secret; every frame gets a new CTR.
func TestSealOpen(t *testing.T) {
	frame := append([]byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}, bytes.Repeat([]byte("picture"), 20)...)
	for _, suite := range []sframe.Suite{0, sframe.AES128CTRHMACSHA256_80} {
		s, err := newSealer(&E2EE{Secret: []byte("room"), KID: 4, Suite: suite})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := s.seal("video/vp8", frame)
		b, _ := s.seal("video/vp8", frame)
		if bytes.Equal(a, b) || !bytes.Equal(a[:10], frame[:10]) || bytes.Contains(a, []byte("picture")) {
			t.Fatalf("%v: sealed %x", suite, a)
		}
		if !clip.IsKeyframe("video/VP8", a) {
			t.Errorf("%v: the sealed keyframe is no longer seen as one", suite)
		}
		right, _ := newOpener(&E2EE{Secret: []byte("room"), Suite: suite})
		wrong, _ := newOpener(&E2EE{Secret: []byte("other"), Suite: suite})
		for i, f := range [][]byte{a, b} {
			if got, err := right.open("video/vp8", f); err != nil || !bytes.Equal(got, frame) {
				t.Errorf("%v frame %d: %v", suite, i, err)
			}
			if _, err := wrong.open("video/vp8", f); err == nil {
				t.Errorf("%v frame %d opened with another secret", suite, i)
			}
		}
		if _, err := right.open("video/vp8", a); err == nil {
			t.Errorf("%v: a replayed frame opened", suite)
		}
	}
}

// The key in use is the last whose From has passed (RFC 9605 section
// 4.4: the sender picks the KID of its current key), whatever order the
// schedule is written in.
func TestKIDAt(t *testing.T) {
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		name string
		keys []Key
		now  time.Duration
		want uint64
	}{
		{"one key", []Key{{KID: 3}}, 0, 3},
		{"before the second key", []Key{{KID: 1, From: t0}, {KID: 2, From: at(10 * time.Second)}}, 9 * time.Second, 1},
		{"at the second key's start", []Key{{KID: 1, From: t0}, {KID: 2, From: at(10 * time.Second)}}, 10 * time.Second, 2},
		{"written out of order", []Key{{KID: 9, From: at(20 * time.Second)}, {KID: 1, From: t0}, {KID: 2, From: at(10 * time.Second)}}, 15 * time.Second, 2},
		{"after the last", []Key{{KID: 9, From: at(20 * time.Second)}, {KID: 1, From: t0}, {KID: 2, From: at(10 * time.Second)}}, time.Minute, 9},
		{"before the first: the first", []Key{{KID: 5, From: at(time.Second)}, {KID: 6, From: at(2 * time.Second)}}, 0, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.keys {
				tc.keys[i].Secret = []byte("s")
			}
			s, err := newSealer(&E2EE{Keys: tc.keys})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.kidAt(at(tc.now)); got != tc.want {
				t.Errorf("KID %d at %s, want %d", got, tc.now, tc.want)
			}
		})
	}
}

// A sender rotating from KID 1 to KID 2 at 10 s: a receiver with both
// keys opens every frame; one that lacks KID 2 opens the frames before
// the rotation only; one with another secret under KID 2 neither. Two
// senders sharing the keys, given disjoint counter ranges, never write
// the same (KID, CTR).
func TestKeyRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		k1 := Key{KID: 1, Secret: []byte("first")}
		k2 := Key{KID: 2, Secret: []byte("second"), From: start.Add(10 * time.Second)}
		sender, err := newSealer(&E2EE{Keys: []Key{k1, k2}})
		if err != nil {
			t.Fatal(err)
		}
		other, err := newSealer(&E2EE{Keys: []Key{k1, k2}, CTRBase: 1 << 40})
		if err != nil {
			t.Fatal(err)
		}
		frame := append([]byte{0x31, 0x02, 0x00}, bytes.Repeat([]byte("delta"), 10)...)
		var sealed, others [][]byte
		for range 20 { // one frame a second for 20 s
			a, _ := sender.seal("video/vp8", frame)
			b, _ := other.seal("video/vp8", frame)
			sealed, others = append(sealed, a), append(others, b)
			time.Sleep(time.Second)
		}
		seen := map[[2]uint64]bool{}
		for i := range sealed {
			for _, f := range [][]byte{sealed[i], others[i]} {
				kid, ctr, _, err := sframe.ParseHeader(f[3:])
				if err != nil || seen[[2]uint64{kid, ctr}] {
					t.Fatalf("frame %d: KID %d CTR %d repeated or unreadable (%v)", i, kid, ctr, err)
				}
				seen[[2]uint64{kid, ctr}] = true
				if want := uint64(1 + i/10); kid != want {
					t.Errorf("frame %d at %d s: KID %d, want %d", i, i, kid, want)
				}
			}
		}
		for _, tc := range []struct {
			name     string
			keys     []Key
			from, to int // the frames that open: [from, to)
		}{
			{"both keys", []Key{k1, {KID: 2, Secret: []byte("second")}}, 0, 20},
			{"lacks KID 2", []Key{k1}, 0, 10},
			{"another secret under KID 2", []Key{k1, {KID: 2, Secret: []byte("guess")}}, 0, 10},
			{"only KID 2", []Key{{KID: 2, Secret: []byte("second")}}, 10, 20},
		} {
			o, err := newOpener(&E2EE{Keys: tc.keys})
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range sealed {
				got, err := o.open("video/vp8", f)
				if opened, want := err == nil && bytes.Equal(got, frame), i >= tc.from && i < tc.to; opened != want {
					t.Errorf("%s: frame %d opened %v, want %v (%v)", tc.name, i, opened, want, err)
				}
			}
		}
	})
}
