package analysis

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// sendLog returns n media packets from seq first, one every 20 ms of
// 960 RTP ticks (48 kHz audio).
func sendLog(first uint16, n int) []Packet {
	out := make([]Packet, n)
	for i := range out {
		out[i] = Packet{Seq: first + uint16(i), Timestamp: uint32(i) * 960, At: t0.Add(time.Duration(i) * 20 * time.Millisecond), Size: 100}
	}
	return out
}

// deliver returns the packets of sent at the given indexes, arriving 50 ms
// after they left.
func deliver(sent []Packet, idx ...int) []Packet {
	out := make([]Packet, 0, len(idx))
	for _, i := range idx {
		p := sent[i]
		p.At = p.At.Add(50 * time.Millisecond)
		out = append(out, p)
	}
	return out
}

func span(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestReceive(t *testing.T) {
	sent := sendLog(100, 100)
	wrapped := sendLog(65500, 100)
	rtx := func(p Packet) Packet { p.RTX = true; return p }
	withPadding := append(sendLog(100, 10), Packet{Seq: 110, Padding: true, At: t0.Add(time.Second)})
	withPadding = append(withPadding, Packet{Seq: 111, Timestamp: 10 * 960, At: t0.Add(time.Second), Size: 100})
	tests := []struct {
		name                          string
		arrivals, sent                []Packet
		expected, received, lost      int
		late, repaired, runs, longest int
	}{
		{"everything arrives", deliver(sent, span(0, 100)...), sent, 100, 100, 0, 0, 0, 0, 0},
		// The defect this replaces: nothing after the last received packet
		// was counted. The link dies half way: half is lost, in one run.
		{"outage until the end", deliver(sent, span(0, 50)...), sent, 100, 50, 50, 0, 0, 1, 50},
		{"outage at the start", deliver(sent, span(30, 100)...), sent, 100, 70, 30, 0, 0, 1, 30},
		// Reordering is lateness, not loss (no concealment).
		{"reordered", deliver(sent, append([]int{0, 1, 3, 2}, span(4, 100)...)...), sent, 100, 100, 0, 1, 0, 0, 0},
		{"repaired by RTX", append(deliver(sent, append([]int{0, 1}, span(3, 100)...)...), rtx(sent[2])), sent, 100, 100, 0, 0, 1, 0, 0},
		// An SFU that got packet 2 late (over RTX from its publisher)
		// forwards it as an original after the receiver's NACK brought a
		// retransmission: the original arrived, late; nothing was repaired
		// (the build before counted it repaired, and rtclab verify, which
		// sees the original on the wire, disagreed on raw_loss_fraction).
		{"original after its retransmission", append(append(deliver(sent, append([]int{0, 1}, span(3, 100)...)...), rtx(sent[2])), sent[2]), sent, 100, 100, 0, 1, 0, 0, 0},
		{"duplicates are not received twice", deliver(sent, append(span(0, 100), 5, 6)...), sent, 100, 100, 0, 0, 0, 0, 0},
		{"two runs", deliver(sent, append(append(span(0, 10), span(12, 50)...), span(55, 100)...)...), sent, 100, 93, 7, 0, 0, 2, 5},
		{"sequence numbers wrap", deliver(wrapped, append(span(0, 30), span(40, 100)...)...), wrapped, 100, 90, 10, 0, 0, 1, 10},
		// A padding probe takes a sequence number: neither expected nor lost.
		{"padding is not media", deliver(withPadding, append(span(0, 10), 11)...), withPadding, 11, 11, 0, 0, 0, 0, 0},
		// A retransmitted probe loses its padding look; the send log knows.
		{"retransmitted padding", append(deliver(withPadding, append(span(0, 10), 11)...), Packet{Seq: 110, RTX: true, Size: 100}), withPadding, 11, 11, 0, 0, 0, 0, 0},
		// Without a send log only the received span is known.
		{"no send log", deliver(sent, span(0, 50)...), nil, 50, 50, 0, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Receive(tt.arrivals, tt.sent)
			if got.Expected != tt.expected || got.Received != tt.received || got.Lost != tt.lost ||
				got.Late != tt.late || got.Repaired != tt.repaired || got.LossRuns != tt.runs || got.LongestRun != tt.longest {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestCountSent(t *testing.T) {
	log := append(sendLog(1, 10), Packet{Seq: 3, RTX: true, Size: 100}, Packet{Seq: 11, Padding: true, Size: 0})
	if got := CountSent(log); got != (Sent{Media: 10, MediaBytes: 1000, Padding: 1, RTX: 1}) {
		t.Fatalf("got %+v", got)
	}
}

func TestJitter(t *testing.T) {
	const rate = 48000
	at := func(sent []Packet, extra ...time.Duration) []Packet {
		out := deliver(sent, span(0, len(sent))...)
		for i := range out {
			out[i].At = out[i].At.Add(extra[i%len(extra)])
		}
		return out
	}
	sent := sendLog(1, 200)
	ms := time.Millisecond
	// Transit alternating 0 and 10 ms: every |D| is 10 ms and the RFC 3550
	// estimator converges to it: J(n) = 10 ms × (1 − (15/16)^n).
	alt := Jitter(at(sent, 0, 10*ms), rate)
	want := 10 * (1 - math.Pow(15.0/16, 199))
	if d := float64(alt)/float64(ms) - want; math.Abs(d) > 0.001 {
		t.Fatalf("alternating: %v, want %.4f ms", alt, want)
	}
	if j := Jitter(at(sent, 0), rate); j != 0 {
		t.Fatalf("constant transit: %v, want 0", j)
	}
	// Two packets: |D| = 16 ms, J = 16/16 = 1 ms (RFC 3550 A.8, one step).
	near := func(d, want time.Duration) bool { return (d - want).Abs() <= time.Microsecond }
	if j := Jitter(at(sent[:2], 0, 16*ms), rate); !near(j, ms) {
		t.Fatalf("one step: %v, want 1ms", j)
	}
	// Reordered arrivals are taken in arrival order (A.8 runs per packet
	// received).
	swapped := deliver(sent[:4], 0, 2, 1, 3)
	swapped[1].At, swapped[2].At = swapped[2].At, swapped[1].At // 2 arrives at 1's time and back
	// transits (ms, relative): p0 0, p2 −20, p1 +20, p3 0 → |D| 20, 40, 20
	j := 0.0
	for _, d := range []float64{20, 40, 20} {
		j += (d - j) / 16
	}
	if got := float64(Jitter(swapped, rate)) / float64(ms); math.Abs(got-j) > 1e-6 {
		t.Fatalf("reordered: %.6f ms, want %.6f", got, j)
	}
	// Retransmissions and padding are left out.
	withRTX := at(sent[:2], 0, 16*ms)
	withRTX = append(withRTX, Packet{Seq: 1, Timestamp: 0, At: t0.Add(time.Second), RTX: true})
	if j := Jitter(withRTX, rate); !near(j, ms) {
		t.Fatalf("with a retransmission: %v, want 1ms", j)
	}
}

func TestOneWayDelay(t *testing.T) {
	sent := sendLog(1, 50)
	got, ok := OneWayDelay(deliver(sent, span(0, 50)...), sent)
	if !ok || got != 50*time.Millisecond {
		t.Fatalf("got %v %v, want 50ms", got, ok)
	}
	if _, ok := OneWayDelay(nil, sent); ok {
		t.Fatal("no arrivals: want not ok")
	}
}

// TestLossPerWindowAddsUp checks that the windows of a loss plot add up
// to the whole call's loss, outage until the end included.
func TestLossPerWindowAddsUp(t *testing.T) {
	sent := sendLog(1, 500) // 10 s
	arr := deliver(sent, append(span(0, 100), span(103, 250)...)...)
	var ends []time.Time
	for e := time.Second; e <= 10*time.Second; e += time.Second {
		ends = append(ends, t0.Add(e))
	}
	perWindow := LossPerWindow(arr, sent, ends, time.Second)
	lost := 0.0
	for _, f := range perWindow {
		lost += f * 50 // 50 packets a second
	}
	if rec := Receive(arr, sent); math.Abs(lost-float64(rec.Lost)) > 1e-9 {
		t.Fatalf("windows lose %.1f packets, the call %d: %v", lost, rec.Lost, perWindow)
	}
	if perWindow[9] != 1 || perWindow[0] != 0 {
		t.Fatalf("first window %v, last %v", perWindow[0], perWindow[9])
	}
}

// A gap in the last sender's numbering (packets lost before an SFU) is
// loss in the window it falls in, as it is in Receive.
func TestLossPerWindowUpstreamGap(t *testing.T) {
	all := sendLog(1, 500)
	sent := append(append([]Packet(nil), all[:300]...), all[310:]...) // 300..309 never reached the SFU
	arr := deliver(all, append(span(0, 300), span(310, 500)...)...)
	whole := LossPerWindow(arr, sent, []time.Time{t0.Add(11 * time.Second)}, 12*time.Second)
	if rec := Receive(arr, sent); math.Abs(whole[0]-rec.LossFraction()) > 1e-12 || rec.Lost != 10 {
		t.Fatalf("one window %v, the call %v (%d lost)", whole[0], rec.LossFraction(), rec.Lost)
	}
	perSecond := LossPerWindow(arr, sent, []time.Time{t0.Add(6 * time.Second), t0.Add(7 * time.Second)}, time.Second)
	// Second 5..6 sent packets 250..299; the numbers up to the next one
	// sent (310) belong to it: 10 of 60 lost.
	if math.Abs(perSecond[0]-10.0/60) > 1e-12 || perSecond[1] != 0 {
		t.Fatalf("per second %v, want [1/6 0]", perSecond)
	}
}

// RTP timestamps start at a random value (RFC 3550 section 5.1) and wrap
// at 2^32 within 13 h at 90 kHz: a stream whose timestamps and sequence
// numbers wrap mid-call has the same jitter and loss as one that does
// not (audit: 32 min calls, 2 % loss).
func TestJitterAndReceiveAcrossWraps(t *testing.T) {
	const rate = 48000
	base := sendLog(65500, 200)
	wrapped := sendLog(65500, 200)
	for i := range wrapped {
		wrapped[i].Timestamp += math.MaxUint32 - 960*50 // wraps at the 51st packet
	}
	ms := time.Millisecond
	at := func(sent []Packet) []Packet {
		out := deliver(sent, span(0, len(sent))...)
		for i := range out {
			if i%3 == 1 {
				out[i].At = out[i].At.Add(7 * ms)
			}
		}
		return out
	}
	if a, b := Jitter(at(base), rate), Jitter(at(wrapped), rate); a != b || a == 0 {
		t.Fatalf("jitter %v without the timestamp wrap, %v with it", a, b)
	}
	lossy := func(sent []Packet) []Packet { return deliver(sent, append(span(0, 30), span(40, 200)...)...) }
	a, b := Receive(lossy(base), base), Receive(lossy(wrapped), wrapped)
	if a != b || a.Lost != 10 || a.Expected != 200 {
		t.Fatalf("receive %+v without the timestamp wrap, %+v with it (want 10 of 200 lost)", a, b)
	}
}

// A browser's camera steps its RTP timestamps by about 3000 (90 kHz, 30
// fps), unevenly; frames lost, reordered, retransmitted or padded must not
// move the estimate.
func TestFrameInterval(t *testing.T) {
	pk := func(ts uint32) Packet { return Packet{Timestamp: ts} }
	var even, lossy, wrap []Packet
	for i := uint32(0); i < 30; i++ {
		even = append(even, pk(i*2970), pk(i*2970)) // two packets a frame
		if i%3 != 2 {
			lossy = append(lossy, pk(i*3000))
		}
		wrap = append(wrap, pk(1<<32-10*3000+i*3000))
	}
	reordered := []Packet{pk(0), pk(3000), pk(9000), pk(6000), pk(12000), pk(15000)}
	withRTX := []Packet{pk(0), {Timestamp: 90000, RTX: true}, pk(3000), {Timestamp: 1, Padding: true}, pk(6000)}
	for _, tc := range []struct {
		name string
		in   []Packet
		want time.Duration
	}{
		{"even, 2970", even, 33 * time.Millisecond},
		{"every third frame lost", lossy, time.Second * 3000 / 90000},
		{"across the timestamp wrap", wrap, time.Second * 3000 / 90000},
		{"a frame reordered", reordered, time.Second * 3000 / 90000},
		{"RTX and padding apart", withRTX, time.Second * 3000 / 90000},
		{"one frame", []Packet{pk(5), pk(5)}, 0},
	} {
		if got := FrameInterval(tc.in, 90000); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
