package agent

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// vp8 builds a VP8 packet: head starts a frame (S=1), key marks a key
// frame's first packet, tail sets the marker bit.
func vp8(seq uint16, ts uint32, head, key, tail bool) *rtp.Packet {
	desc := byte(0)
	if head {
		desc = 0x10
	}
	hdr := byte(0x01) // inter frame
	if key {
		hdr = 0x00
	}
	return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, Marker: tail}, Payload: []byte{desc, hdr, byte(seq)}}
}

// frame returns the packets of one n-packet frame starting at seq.
func frame(seq uint16, ts uint32, n int, key bool) []*rtp.Packet {
	var out []*rtp.Packet
	for i := range n {
		out = append(out, vp8(seq+uint16(i), ts, i == 0, key && i == 0, i == n-1))
	}
	return out
}

func TestAssembler(t *testing.T) {
	type arrival struct {
		p  *rtp.Packet
		at time.Duration
	}
	seqOf := func(ps ...[]*rtp.Packet) []arrival {
		var out []arrival
		for _, f := range ps {
			for _, p := range f {
				out = append(out, arrival{p: p})
			}
		}
		return out
	}
	drop := func(a []arrival, seqs ...uint16) []arrival {
		var out []arrival
	next:
		for _, x := range a {
			for _, s := range seqs {
				if x.p.SequenceNumber == s {
					continue next
				}
			}
			out = append(out, x)
		}
		return out
	}
	base := seqOf(frame(100, 0, 2, true), frame(102, 3000, 2, false), frame(104, 6000, 3, false), frame(107, 9000, 2, true), frame(109, 12000, 1, false))
	tests := []struct {
		name     string
		arrivals []arrival
		// want lists emitted frames as "ts/lostBefore"
		want string
	}{
		{"in order", base, "[0/0 3000/0 6000/0 9000/0 12000/0]"},
		{"padding between frames", []arrival{base[0], base[1], {p: &rtp.Packet{Header: rtp.Header{SequenceNumber: 102, Padding: true}}}, {p: vp8(103, 3000, true, false, true)}}, "[0/0 3000/0]"},
		{"probe between frames", []arrival{base[0], base[1], {p: &rtp.Packet{Header: rtp.Header{SequenceNumber: 102, Padding: true}, Payload: make([]byte, 100)}}, {p: vp8(103, 3000, true, false, true)}}, "[0/0 3000/0]"},
		{"wrap", seqOf(frame(65534, 0, 3, true), frame(1, 3000, 1, false)), "[0/0 3000/0]"},
		{"reordered within a frame", []arrival{base[1], base[0], base[2], base[3]}, "[0/0 3000/0]"},
		// 103 comes back (a retransmission) before anything gives up.
		{"repaired in time", []arrival{base[0], base[1], base[2], base[4], base[5], {p: base[3].p, at: 100 * time.Millisecond}, base[6]}, "[0/0 3000/0 6000/0]"},
		// 105 never comes: the keyframe at 107 is complete, so the
		// receiver jumps to it at once, giving up 104-106.
		{"jump to keyframe", drop(base, 105), "[0/0 3000/0 9000/3 12000/0]"},
		// 103 (tail of a delta frame) lost, no keyframe behind it until
		// 107: the jump happens as soon as 107-108 are here.
		{"lost tail", drop(base, 103), "[0/0 9000/5 12000/0]"},
		// Without the first keyframe's start nothing before the next
		// keyframe can be decoded: the receiver starts there.
		{"lost start of stream", drop(base, 100), "[9000/6 12000/0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAssembler(func() rtp.Depacketizer { return &codecs.VP8Packet{} }, func(b []byte) bool { return len(b) > 0 && b[0]&1 == 0 }, 300*time.Millisecond)
			t0 := time.Unix(0, 0)
			var got []string
			for _, x := range tt.arrivals {
				for _, f := range a.push(x.p, t0.Add(x.at)) {
					got = append(got, fmt.Sprintf("%d/%d", f.timestamp, f.lostBefore))
				}
			}
			if fmt.Sprint(got) != tt.want {
				t.Fatalf("frames %v, want %s", got, tt.want)
			}
		})
	}
}

func TestAssemblerGivesUp(t *testing.T) {
	a := newAssembler(func() rtp.Depacketizer { return &codecs.VP8Packet{} }, func(b []byte) bool { return len(b) > 0 && b[0]&1 == 0 }, 300*time.Millisecond)
	t0 := time.Unix(0, 0)
	var got []string
	at := time.Duration(0)
	// keyframe, then delta frames every 33 ms with packet 103 lost for good
	ps := append(frame(100, 0, 2, true), frame(102, 3000, 2, false)...)
	for i := range 12 {
		ps = append(ps, frame(uint16(104+i), uint32(6000+3000*i), 1, false)...)
	}
	for _, p := range ps {
		if p.SequenceNumber == 103 {
			continue
		}
		for _, f := range a.push(p, t0.Add(at)) {
			got = append(got, fmt.Sprintf("%d/%d@%d", f.timestamp, f.lostBefore, (at/time.Millisecond)))
		}
		at += 33 * time.Millisecond
	}
	// 103 is found missing at 99 ms (when 104 arrives); at the first
	// arrival 300 ms later (429 ms) the receiver gives up on the frame and
	// goes on from 104, reporting the 2 packets given up.
	want := "[0/0@33 6000/2@429 9000/0@429 12000/0@429 15000/0@429 18000/0@429 21000/0@429 24000/0@429 27000/0@429 30000/0@429 33000/0@429 36000/0@429 39000/0@462]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got  %v\nwant %s", got, want)
	}
}

// TestAssemblerLongRun feeds 100,000 two-packet frames (three sequence
// number wraps) with one packet in 50 arriving a frame late and wants
// every frame out, in order, none reported lost: the numbers must be
// judged against a reference that moves with the stream (issue #20).
func TestAssemblerLongRun(t *testing.T) {
	a := newAssembler(func() rtp.Depacketizer { return &codecs.VP8Packet{} }, func(b []byte) bool { return len(b) > 0 && b[0]&1 == 0 }, 300*time.Millisecond)
	t0 := time.Unix(0, 0)
	const frames = 100_000
	var late *rtp.Packet
	got := 0
	check := func(out []assembled) {
		for _, f := range out {
			if f.timestamp != uint32(got*3000) || f.lostBefore != 0 {
				t.Fatalf("frame %d: got ts %d lost %d, want ts %d lost 0", got, f.timestamp, f.lostBefore, got*3000)
			}
			got++
		}
	}
	seq := uint16(60000)
	for i := range frames {
		ps := frame(seq, uint32(i*3000), 2, i == 0)
		seq += 2
		at := t0.Add(time.Duration(i) * 33 * time.Millisecond)
		check(a.push(ps[0], at))
		if late != nil {
			check(a.push(late, at)) // the previous frame's tail, a frame late
			late = nil
		}
		if i%50 == 7 {
			late = ps[1]
			continue
		}
		check(a.push(ps[1], at))
	}
	if got < frames-1 {
		t.Fatalf("%d frames out of %d", got, frames)
	}
}

// TestAssemblerReusesPackets reads every packet into one the assembler
// hands out (packet, as Agent.receive does) and wants the same frames,
// byte for byte, as with packets of their own: a packet or a frame's
// storage reused too early would show as other bytes. Duplicates, late
// packets and a loss make the assembler recycle on every path.
func TestAssemblerReusesPackets(t *testing.T) {
	var src []*rtp.Packet
	seq := uint16(65000) // wraps
	for i := range 400 {
		n := 1 + i%4
		for _, p := range frame(seq, uint32(i*3000), n, i%30 == 0) {
			p.Payload = append(p.Payload, bytes.Repeat([]byte{byte(i)}, 50+i%700)...)
			src = append(src, p)
		}
		seq += uint16(n)
	}
	var arrivals []*rtp.Packet
	for i, p := range src {
		switch {
		case i%97 == 5: // lost for good
		case i%13 == 0: // duplicated
			arrivals = append(arrivals, p, p)
		case i%17 == 0 && i+2 < len(src): // two late
			arrivals = append(arrivals, src[i+1], src[i+2], p)
		default:
			arrivals = append(arrivals, p)
		}
	}
	run := func(reuse bool) []string {
		a := newAssembler(func() rtp.Depacketizer { return &codecs.VP8Packet{} }, func(b []byte) bool { return len(b) > 0 && b[0]&1 == 0 }, 300*time.Millisecond)
		var out []string
		at := time.Unix(0, 0)
		for _, x := range arrivals {
			p := &rtp.Packet{}
			if reuse {
				p = a.packet()
			}
			own := p.Payload[:0]
			p.Header = x.Header
			p.Payload = append(own, x.Payload...)
			for _, f := range a.push(p, at) {
				out = append(out, fmt.Sprintf("%d/%d/%x", f.timestamp, f.lostBefore, f.data))
			}
			at = at.Add(11 * time.Millisecond)
		}
		return out
	}
	fresh, reused := run(false), run(true)
	if len(fresh) < 300 {
		t.Fatalf("%d frames out", len(fresh))
	}
	if fmt.Sprint(fresh) != fmt.Sprint(reused) {
		t.Fatal("frames differ when the assembler's packets are reused")
	}
}
