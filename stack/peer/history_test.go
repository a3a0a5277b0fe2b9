package peer

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// A NACK is answered only for a packet sent within max(1 s, 3 RTT)
// (libwebrtc's packet history): a fresh packet is let through to the
// responder, one sent longer ago is not, the bound grows with the RTT,
// and sequence numbers are told apart across the wrap at 65,536 and the
// ring's 1,024 slots.
func TestNACKRepairHistoryAge(t *testing.T) {
	type sent struct {
		seq   uint16
		after time.Duration // send time after t0
	}
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name string
		rtt  time.Duration
		sent []sent        // in the order sent
		at   time.Duration // when the NACK arrives
		nack []uint16
		want string
	}{
		{"fresh packet answered", 100 * time.Millisecond,
			[]sent{{10, 0}, {11, 20 * time.Millisecond}}, 200 * time.Millisecond, []uint16{10, 11}, "[10 11]"},
		{"older than 1 s not answered", 100 * time.Millisecond,
			[]sent{{10, 0}, {11, 500 * time.Millisecond}}, 1200 * time.Millisecond, []uint16{10, 11}, "[11]"},
		{"exactly 1 s old still answered", 100 * time.Millisecond,
			[]sent{{10, 0}}, time.Second, []uint16{10}, "[10]"},
		{"3 RTT above 1 s: 1.4 s old answered at RTT 500 ms", 500 * time.Millisecond,
			[]sent{{10, 0}}, 1400 * time.Millisecond, []uint16{10}, "[10]"},
		{"3 RTT above 1 s: 1.6 s old not answered at RTT 500 ms", 500 * time.Millisecond,
			[]sent{{10, 0}}, 1600 * time.Millisecond, []uint16{10}, "[]"},
		{"RTT 300 ms: the 1 s floor holds", 300 * time.Millisecond,
			[]sent{{10, 0}}, 1600 * time.Millisecond, []uint16{10}, "[]"},
		{"across the wrap", 100 * time.Millisecond,
			[]sent{{65534, 0}, {65535, 600 * time.Millisecond}, {0, 600 * time.Millisecond}, {1, 700 * time.Millisecond}},
			1300 * time.Millisecond, []uint16{65534, 65535, 0, 1}, "[65535 0 1]"},
		{"never sent: not answered", 100 * time.Millisecond,
			[]sent{{10, 0}}, 100 * time.Millisecond, []uint16{9, 10}, "[10]"},
		{"slot reused 1,024 later: the old number is gone", 100 * time.Millisecond,
			[]sent{{10, 0}, {10 + sentLogSize, 10 * time.Millisecond}}, 100 * time.Millisecond, []uint16{10, 10 + sentLogSize}, "[1034]"},
		{"number reused 65,536 packets later: the new send counts", 100 * time.Millisecond,
			[]sent{{5, 0}, {5, 4900 * time.Millisecond}}, 5 * time.Second, []uint16{5}, "[5]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestRepair(tt.rtt)
			log := &sentLog{}
			n.sent[7] = log
			for _, p := range tt.sent {
				log.record(p.seq, t0.Add(p.after))
			}
			got := n.filter(t0.Add(tt.at), 7, rtcp.NackPairsFromSequenceNumbers(tt.nack))
			seqs := []uint16{}
			for _, p := range got {
				seqs = append(seqs, p.PacketList()...)
			}
			if fmt.Sprint(seqs) != tt.want {
				t.Errorf("let through %v, want %s", seqs, tt.want)
			}
		})
	}
}

// The send times come from the write path: media packets are logged,
// retransmissions on the RTX stream are not (a resend does not make a
// packet young again), and another SSRC's NACK is not judged.
func TestNACKRepairHistoryWritePath(t *testing.T) {
	n := newTestRepair(100 * time.Millisecond)
	w := n.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, SSRCRetransmission: 8},
		interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	if _, err := w.Write(&rtp.Header{SSRC: 7, SequenceNumber: 300}, []byte{1}, nil); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	if _, err := w.Write(&rtp.Header{SSRC: 8, SequenceNumber: 301}, []byte{1, 44}, nil); err != nil {
		t.Fatal(err)
	}
	if got := n.filter(sent.Add(500*time.Millisecond), 7, rtcp.NackPairsFromSequenceNumbers([]uint16{300, 301})); len(got) != 1 || fmt.Sprint(got[0].PacketList()) != "[300]" {
		t.Errorf("half a second after sending: let through %v, want [300]", got)
	}
	if got := n.filter(sent.Add(2*time.Second), 7, rtcp.NackPairsFromSequenceNumbers([]uint16{300})); len(got) != 0 {
		t.Errorf("2 s after sending: let through %v, want none", got)
	}
	if got := n.filter(sent.Add(2*time.Second), 9, rtcp.NackPairsFromSequenceNumbers([]uint16{300})); len(got) != 1 {
		t.Errorf("a stream not sent through nackRepair: let through %v, want [300]", got)
	}
	n.UnbindLocalStream(&interceptor.StreamInfo{SSRC: 7})
	if n.sent[7] != nil {
		t.Error("the send log outlived its stream")
	}
}

// Logging a sent packet allocates nothing.
func TestSentLogRecordAllocs(t *testing.T) {
	l := &sentLog{}
	now := time.Now()
	seq := uint16(0)
	if a := testing.AllocsPerRun(1000, func() { l.record(seq, now); seq++ }); a != 0 {
		t.Errorf("%v allocations per record", a)
	}
}
