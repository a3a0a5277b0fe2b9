package peer

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/rtclab/rtclab/phase"
)

func newTestRepair(rtt time.Duration) *nackRepair {
	f := &nackRepairFactory{interval: phase.NACKInterval.Value(), retries: NACKRetries}
	i, _ := f.NewInterceptor("")
	n := i.(*nackRepair)
	if rtt > 0 {
		n.rtt.Store(int64(rtt))
	}
	return n
}

// asked lists the sequence numbers of NACKs, per media SSRC.
func asked(pkts []rtcp.Packet) string {
	var out []string
	for _, p := range pkts {
		nack := p.(*rtcp.TransportLayerNack)
		for _, pair := range nack.Nacks {
			out = append(out, fmt.Sprintf("%d:%v", nack.MediaSSRC, pair.PacketList()))
		}
	}
	return fmt.Sprint(out)
}

// The generator asks for a missing packet once, again only after an RTT,
// never after the packet arrived on the RTX stream, and at most
// NACKRetries times.
func TestNACKRepairGenerator(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tick := func(k int) time.Time { return t0.Add(time.Duration(k) * phase.NACKInterval.Value()) }
	type step struct {
		media []uint16 // media packets arriving on SSRC 1
		rtx   []uint16 // original sequence numbers arriving on RTX SSRC 2
		want  string   // NACKs at the tick after them
	}
	tests := []struct {
		name  string
		rtt   time.Duration
		steps []step
	}{
		{"repaired by RTX: asked once", 50 * time.Millisecond, []step{
			{media: []uint16{65534, 1}, want: "[1:[65535 0]]"},
			{rtx: []uint16{65535, 0}, want: "[]"},
			{want: "[]"},
		}},
		{"repaired by a late original", 50 * time.Millisecond, []step{
			{media: []uint16{10, 12}, want: "[1:[11]]"},
			{media: []uint16{11}, want: "[]"},
		}},
		{"not repaired: once per RTT, four times", 250 * time.Millisecond, []step{
			{media: []uint16{10, 12}, want: "[1:[11]]"},
			{want: "[]"}, // 100 ms after asking
			{want: "[]"}, // 200 ms
			{want: "[1:[11]]"},
			{want: "[]"},
			{want: "[]"},
			{want: "[1:[11]]"},
			{want: "[]"},
			{want: "[]"},
			{want: "[1:[11]]"},
			{want: "[]"},
			{want: "[]"},
			{want: "[]"}, // given up
			{want: "[]"},
		}},
		{"unmeasured RTT: libwebrtc's 100 ms default", 0, []step{
			{media: []uint16{10, 12}, want: "[1:[11]]"},
			{want: "[1:[11]]"},
			{rtx: []uint16{11}, want: "[]"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestRepair(tt.rtt)
			for k, s := range tt.steps {
				for _, q := range s.media {
					n.arrived(1, q)
				}
				for _, q := range s.rtx {
					n.repaired(2, q)
				}
				if got := asked(n.due(tick(k+1), 7)); got != s.want {
					t.Fatalf("tick %d: asked %s, want %s", k+1, got, s.want)
				}
			}
		})
	}
}

// An RTX stream is tied to the media stream missing its packet, and only
// when exactly one is.
func TestNACKRepairLearnsRTXStream(t *testing.T) {
	n := newTestRepair(time.Second)
	n.arrived(1, 100)
	n.arrived(1, 102) // 101 missing on SSRC 1
	n.arrived(3, 500)
	n.arrived(3, 502) // 501 missing on SSRC 3
	n.repaired(9, 7)  // repairs nothing missing: not tied
	if _, ok := n.rtxOf[9]; ok {
		t.Fatal("RTX stream tied without a missing packet")
	}
	n.repaired(9, 501)
	if n.rtxOf[9] != 3 {
		t.Fatalf("RTX stream tied to %d, want 3", n.rtxOf[9])
	}
	if got := asked(n.due(time.Unix(0, 0), 7)); got != "[1:[101]]" {
		t.Fatalf("asked %s, want only 101 on SSRC 1", got)
	}
}

// The sender side lets a packet through to pion's responder at most once
// per RTT, however often it is asked for.
func TestNACKRepairFilter(t *testing.T) {
	n := newTestRepair(200 * time.Millisecond)
	t0 := time.Unix(1000, 0)
	tests := []struct {
		at   time.Duration
		in   []uint16
		want string
	}{
		{0, []uint16{5, 6, 9}, "[[5 6 9]]"},
		{100 * time.Millisecond, []uint16{5, 6, 9}, "[]"},
		{150 * time.Millisecond, []uint16{5, 10}, "[[10]]"},
		{200 * time.Millisecond, []uint16{5, 6, 9, 10}, "[[5 6 9]]"},
	}
	for _, tt := range tests {
		got := n.filter(t0.Add(tt.at), 1, rtcp.NackPairsFromSequenceNumbers(tt.in))
		var lists [][]uint16
		for _, p := range got {
			lists = append(lists, p.PacketList())
		}
		if fmt.Sprint(lists) != tt.want && !(len(lists) == 0 && tt.want == "[]") {
			t.Errorf("at %v: %v let through, want %s", tt.at, lists, tt.want)
		}
	}
}

// The RTT is the report block's round trip (RFC 3550 section 6.4.1).
func TestNACKRepairMeasuresRTT(t *testing.T) {
	n := newTestRepair(0)
	sent := time.Unix(1_700_000_000, 123_456_789)
	now := sent.Add(300 * time.Millisecond)
	// the peer held our report for 100 ms before answering
	n.measure(now, []rtcp.ReceptionReport{{LastSenderReport: compactNTP(sent), Delay: 65536 / 10}})
	if got := n.RTT(); got < 199*time.Millisecond || got > 201*time.Millisecond {
		t.Fatalf("RTT %v, want 200 ms", got)
	}
	n.measure(now, []rtcp.ReceptionReport{{LastSenderReport: 0}})
	if got := n.RTT(); got < 199*time.Millisecond || got > 201*time.Millisecond {
		t.Fatalf("a block without LSR changed the RTT to %v", got)
	}
}

// The responder gets no NACKed probe to resend (issue #10, finding C: the
// SFU retransmitted lost padding probes and the receiver counted them as
// media), but the media packets around it, and probes are told from media
// by their zero payload.
func TestNACKRepairSkipsProbes(t *testing.T) {
	n := newTestRepair(50 * time.Millisecond)
	w := n.BindLocalStream(&interceptor.StreamInfo{SSRC: 7}, interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	send := []struct {
		seq     uint16
		padding bool
		payload []byte
	}{
		{10, false, []byte{0x10, 1}},
		{11, true, make([]byte, 200)}, // a probe
		{12, true, []byte{0x10, 0}},   // media with padding
		{13, false, make([]byte, 4)},  // zeros without the padding bit: media
		{14, true, make([]byte, 200)}, // a probe
	}
	for _, p := range send {
		if _, err := w.Write(&rtp.Header{SSRC: 7, SequenceNumber: p.seq, Padding: p.padding}, p.payload, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := n.filter(time.Unix(1000, 0), 7, rtcp.NackPairsFromSequenceNumbers([]uint16{10, 11, 12, 13, 14}))
	var seqs []uint16
	for _, p := range got {
		seqs = append(seqs, p.PacketList()...)
	}
	if fmt.Sprint(seqs) != "[10 12 13]" {
		t.Errorf("let through %v, want [10 12 13]", seqs)
	}
	if other := n.filter(time.Unix(1000, 0), 8, rtcp.NackPairsFromSequenceNumbers([]uint16{11})); len(other) != 1 {
		t.Errorf("another SSRC's packet 11 was dropped")
	}
}

// Each retransmission the responder sends is numbered one after the
// previous one on the RTX stream (RFC 4588 section 4), also a packet
// NACKed a second time: pion's responder (pion/interceptor v0.1.42) sent
// it again under the number it gave it when the original was sent, which
// the receiver's SRTP replay window dropped (issue #10, trace-dip).
func TestNACKRepairNumbersRetransmissions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newTestRepair(50 * time.Millisecond)
		f, err := nack.NewResponderInterceptor()
		if err != nil {
			t.Fatal(err)
		}
		responder, err := f.NewInterceptor("")
		if err != nil {
			t.Fatal(err)
		}
		defer responder.Close()
		defer n.Close()
		const media, rtx = 7, 8
		info := &interceptor.StreamInfo{
			SSRC: media, SSRCRetransmission: rtx, PayloadType: 96, PayloadTypeRetransmission: 97,
			RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}},
		}
		var mu sync.Mutex
		var sent []string // RTX packets on the wire: "sequence number/original"
		wire := interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
			if h.SSRC == rtx {
				mu.Lock()
				sent = append(sent, fmt.Sprintf("%d/%d", h.SequenceNumber, binary.BigEndian.Uint16(payload)))
				mu.Unlock()
			}
			return len(payload), nil
		})
		// Registered as in configureInterceptors: nackRepair, then the
		// responder, which writes through nackRepair and reads after it.
		w := responder.BindLocalStream(info, n.BindLocalStream(info, wire))
		for seq := uint16(100); seq < 110; seq++ {
			if _, err := w.Write(&rtp.Header{Version: 2, SSRC: media, PayloadType: 96, SequenceNumber: seq}, []byte{0x10, byte(seq)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		nacks := make(chan []uint16, 1)
		r := responder.BindRTCPReader(n.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, _ interceptor.Attributes) (int, interceptor.Attributes, error) {
			raw, err := (&rtcp.TransportLayerNack{MediaSSRC: media, Nacks: rtcp.NackPairsFromSequenceNumbers(<-nacks)}).Marshal()
			return copy(b, raw), nil, err
		})))
		buf := make([]byte, 1500)
		for _, seqs := range [][]uint16{{102, 105}, {102, 108}} { // the first 102 was lost
			nacks <- seqs
			if _, _, err := r.Read(buf, nil); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()                    // the responder resends on a goroutine
			time.Sleep(100 * time.Millisecond) // an RTT: 102 may be resent
		}
		mu.Lock()
		defer mu.Unlock()
		if len(sent) != 4 {
			t.Fatalf("RTX sent %v, want 4 packets", sent)
		}
		first, _, _ := strings.Cut(sent[0], "/")
		start, err := strconv.Atoi(first)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i, osn := range []int{102, 105, 102, 108} {
			want = append(want, fmt.Sprintf("%d/%d", uint16(start+i), osn))
		}
		if !slices.Equal(sent, want) {
			t.Errorf("RTX sent %v (sequence number/original), want %v", sent, want)
		}
	})
}
