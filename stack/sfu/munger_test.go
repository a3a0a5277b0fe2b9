package sfu

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/rtclab/rtclab/seqnum"
)

func TestMunger(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type pkt struct {
		pad       int // padding packets inserted before this one
		seq       uint16
		ts        uint32
		at        time.Duration
		wantSeq   uint16
		wantTS    uint32
		wantDrop  bool
		switching bool
	}
	tests := []struct {
		name string
		pkts []pkt
	}{
		{"first layer passes through", []pkt{
			{seq: 100, ts: 9000, switching: true, wantSeq: 100, wantTS: 9000},
			{seq: 101, ts: 9000, wantSeq: 101, wantTS: 9000},
			{seq: 102, ts: 12000, at: 33 * time.Millisecond, wantSeq: 102, wantTS: 12000},
		}},
		{"switch continues numbering and time", []pkt{
			{seq: 100, ts: 9000, switching: true, wantSeq: 100, wantTS: 9000},
			{seq: 101, ts: 12000, at: 33 * time.Millisecond, wantSeq: 101, wantTS: 12000},
			// new layer, unrelated bases, 33.3 ms later
			{seq: 5000, ts: 777, at: 66*time.Millisecond + 333*time.Microsecond, switching: true, wantSeq: 102, wantTS: 12000 + 2999},
			{seq: 5001, ts: 777, at: 67 * time.Millisecond, wantSeq: 103, wantTS: 14999},
			{seq: 5003, ts: 3777, at: 100 * time.Millisecond, wantSeq: 105, wantTS: 17999},
			// a retransmission of the gap maps one to one
			{seq: 5002, ts: 777, at: 150 * time.Millisecond, wantSeq: 104, wantTS: 14999},
			// a packet of the new layer from before the switch is dropped
			{seq: 4999, ts: 0, at: 160 * time.Millisecond, wantDrop: true},
		}},
		{"wrap around on switch", []pkt{
			{seq: 65534, ts: 4294967000, switching: true, wantSeq: 65534, wantTS: 4294967000},
			{seq: 65535, ts: 4294967000, wantSeq: 65535, wantTS: 4294967000},
			{seq: 10, ts: 50, at: time.Millisecond / 90, switching: true, wantSeq: 0, wantTS: 4294967001},
			{seq: 11, ts: 50, wantSeq: 1, wantTS: 4294967001},
		}},
		{"padding moves later packets up, not earlier ones", []pkt{
			{seq: 10, ts: 100, switching: true, wantSeq: 10, wantTS: 100},
			{seq: 11, ts: 100, wantSeq: 11, wantTS: 100},
			// two padding packets take 12 and 13 while input 12 is late
			{seq: 13, ts: 3100, pad: 2, wantSeq: 15, wantTS: 3100},
			// the late 12 is numbered after the padding: still unique
			{seq: 12, ts: 100, wantSeq: 14, wantTS: 100},
			{seq: 14, ts: 3100, wantSeq: 16, wantTS: 3100},
		}},
		{"padding keeps earlier packets' numbers", []pkt{
			{seq: 10, ts: 100, switching: true, wantSeq: 10, wantTS: 100},
			{seq: 12, ts: 100, wantSeq: 12, wantTS: 100},
			{seq: 13, ts: 3100, pad: 1, wantSeq: 14, wantTS: 3100},
			// 11 (before the padding point) keeps its number
			{seq: 11, ts: 100, wantSeq: 11, wantTS: 100},
		}},
		{"same instant switch still advances time", []pkt{
			{seq: 1, ts: 100, switching: true, wantSeq: 1, wantTS: 100},
			{seq: 900, ts: 5, switching: true, wantSeq: 2, wantTS: 101},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := munger{clockRate: 90000}
			for i, p := range tt.pkts {
				at := t0.Add(p.at)
				for range p.pad {
					m.pad()
				}
				if p.switching {
					m.switchTo(p.seq, p.ts, at)
				}
				seq, ts, ok := m.rewrite(p.seq, p.ts, at)
				if ok == p.wantDrop {
					t.Fatalf("packet %d: ok = %v, want drop %v", i, ok, p.wantDrop)
				}
				if ok && (seq != p.wantSeq || ts != p.wantTS) {
					t.Errorf("packet %d: got seq %d ts %d, want %d %d", i, seq, ts, p.wantSeq, p.wantTS)
				}
			}
		})
	}
}

// TestMungerLongLayer is the regression test for issue #20: 32,768
// packets after a layer started, every packet looked "before" the switch
// point and was dropped, and the call went silent. Each case forwards
// 200,000 packets of one layer (three wraps) and wants every one through,
// numbered one after the other.
func TestMungerLongLayer(t *testing.T) {
	tests := []struct {
		name      string
		firstBase uint16 // first layer's base
		switchAt  int    // packets of the first layer before a switch; 0: no switch
		base      uint16 // base of the layer the long run is on
	}{
		{"first layer", 100, 0, 100},
		{"first layer starting near the wrap", 65000, 0, 65000},
		{"after a switch", 100, 50, 40000},
		{"after a switch near the wrap", 60000, 50000, 65535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := munger{clockRate: 90000}
			at := time.Unix(1000, 0)
			m.switchTo(tt.firstBase, 0, at)
			var want uint16
			for i := range tt.switchAt {
				seq, _, ok := m.rewrite(tt.firstBase+uint16(i), 0, at)
				if !ok {
					t.Fatalf("first layer packet %d dropped", i)
				}
				want = seq + 1
			}
			if tt.switchAt > 0 {
				m.switchTo(tt.base, 0, at)
			} else {
				want = tt.base
			}
			const n = 200_000
			for i := range n {
				at = at.Add(time.Millisecond)
				seq, _, ok := m.rewrite(tt.base+uint16(i), uint32(i*90), at)
				if !ok {
					t.Fatalf("packet %d of the layer dropped (the 32,768-packet cut)", i)
				}
				if seq != want {
					t.Fatalf("packet %d numbered %d, want %d", i, seq, want)
				}
				want++
			}
		})
	}
}

// TestMungerProperty drives the munger with 300,000 packets of three
// simulcast layers through a lossy, reordering uplink with
// retransmissions and duplicates, random layer switches (each on a
// keyframe of the new layer) and padding runs, and checks what a
// subscriber relies on:
//   - a retransmission or duplicate gets the number its original got;
//   - no two packets (media or padding) share a number;
//   - nothing of the current layer from the switch point on is dropped,
//     and nothing from before it is forwarded;
//   - the output is continuous: its only holes are packets of a layer
//     that never arrived before the SFU switched away from it.
func TestMungerProperty(t *testing.T) {
	tests := []struct {
		seed uint64
		// switchEvery is the mean number of frames between changes of
		// the wanted layer; one case stays on layers past 2^15 packets.
		switchEvery int
	}{{1, 500}, {2, 500}, {3, 40_000}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("seed %d switch every %d", tt.seed, tt.switchEvery), func(t *testing.T) {
			mungerProperty(t, tt.seed, 100_000, tt.switchEvery)
		})
	}
}

func mungerProperty(t *testing.T, seed uint64, steps, switchEvery int) {
	rng := rand.New(rand.NewPCG(seed, 20))
	const layers = 3
	var base [layers]uint16
	var tsBase [layers]uint32
	for l := range layers {
		base[l], tsBase[l] = uint16(rng.Uint32()), rng.Uint32()
	}
	type delivery struct {
		step, order int
		layer       int
		ext         int64 // truth: index of the packet in its layer
	}
	var queue []delivery
	order := 0
	schedule := func(step, layer int, ext int64) {
		queue = append(queue, delivery{step: step, order: order, layer: layer, ext: ext})
		order++
	}
	const keyEvery = 30
	m := munger{clockRate: 90000}
	t0 := time.Unix(1000, 0)
	current, target := -1, 0
	var switchExt int64
	type key struct {
		layer int
		ext   int64
	}
	mapped := map[key]int64{}     // input packet -> extended output number
	used := map[int64]string{}    // extended output number -> who has it
	epochSeen := map[int64]bool{} // input packets of the current layer forwarded
	var epochHigh int64
	holesWant := 0
	closeEpoch := func() {
		if current < 0 {
			return
		}
		for e := switchExt; e <= epochHigh; e++ {
			if !epochSeen[e] {
				holesWant++
			}
		}
	}
	var out seqnum.Unwrapper
	forwarded, pads := 0, 0
	deliver := func(d delivery) {
		at := t0.Add(time.Duration(d.step) * 33 * time.Millisecond)
		seq := base[d.layer] + uint16(d.ext)
		ts := tsBase[d.layer] + uint32(d.ext/3)*3000
		if d.layer == target && target != current && d.ext%keyEvery == 0 {
			closeEpoch()
			current, switchExt, epochHigh = d.layer, d.ext, d.ext
			clear(epochSeen)
			m.switchTo(seq, ts, at)
		}
		if d.layer != current {
			return
		}
		got, _, ok := m.rewrite(seq, ts, at)
		if want := d.ext >= switchExt; ok != want {
			t.Fatalf("layer %d packet %d (switch at %d): forwarded %v, want %v", d.layer, d.ext, switchExt, ok, want)
		}
		if !ok {
			return
		}
		o := out.Unwrap(got)
		k := key{d.layer, d.ext}
		if prev, seen := mapped[k]; seen {
			if prev != o {
				t.Fatalf("layer %d packet %d: again numbered %d, first %d", d.layer, d.ext, o, prev)
			}
			return
		}
		if who, taken := used[o]; taken {
			t.Fatalf("layer %d packet %d numbered %d, already taken by %s", d.layer, d.ext, o, who)
		}
		mapped[k] = o
		used[o] = fmt.Sprintf("layer %d packet %d", d.layer, d.ext)
		epochSeen[d.ext] = true
		epochHigh = max(epochHigh, d.ext)
		forwarded++
	}
	for step := range steps {
		for l := range layers {
			ext := int64(step)
			switch r := rng.Float64(); {
			case r < 0.02: // lost; repaired within a few frames
				schedule(step+3+rng.IntN(15), l, ext)
			case r < 0.05: // reordered
				schedule(step+1+rng.IntN(3), l, ext)
			default:
				schedule(step, l, ext)
			}
			if rng.Float64() < 0.005 { // a duplicate retransmission
				schedule(step+5+rng.IntN(10), l, ext)
			}
		}
		if rng.IntN(switchEvery) == 0 {
			target = rng.IntN(layers)
		}
		sort.Slice(queue, func(i, j int) bool {
			if queue[i].step != queue[j].step {
				return queue[i].step < queue[j].step
			}
			return queue[i].order < queue[j].order
		})
		n := 0
		for n < len(queue) && queue[n].step <= step {
			deliver(queue[n])
			n++
		}
		queue = queue[n:]
		if current >= 0 && rng.Float64() < 0.02 {
			for range 1 + rng.IntN(5) {
				seq, _, ok := m.pad()
				if !ok {
					t.Fatal("pad refused after the first layer")
				}
				o := out.Unwrap(seq)
				if who, taken := used[o]; taken {
					t.Fatalf("padding numbered %d, already taken by %s", o, who)
				}
				used[o] = "padding"
				pads++
			}
		}
	}
	closeEpoch()
	lo, hi := int64(1<<62), int64(-1<<62)
	for o := range used {
		lo, hi = min(lo, o), max(hi, o)
	}
	holes := int(hi-lo+1) - len(used)
	if holes != holesWant {
		t.Errorf("output has %d holes in %d numbers, want %d (packets never forwarded)", holes, hi-lo+1, holesWant)
	}
	if forwarded < steps/2 {
		t.Errorf("only %d packets forwarded of %d steps", forwarded, steps)
	}
	t.Logf("%d packets forwarded, %d padding, %d holes, output span %d", forwarded, pads, holes, hi-lo+1)
}
