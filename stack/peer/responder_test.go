package peer

import (
	"bytes"
	"fmt"
	"testing"
	"testing/synctest"
	"unsafe"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// resent is one retransmission as the writer below a responder saw it.
type resent struct {
	ssrc    uint32
	pt      uint8
	seq     uint16
	padding bool
	payload string
}

// respond writes packets through a responder made by f on a stream with
// or without RTX, then NACKs asks, and returns what it resent, with RTX
// sequence numbers made relative to the first (both number from a random
// start). Every payload is written from one buffer, cleared after each
// write, as an SFU's read buffer is reused.
func respond(t *testing.T, f interceptor.Factory, rtx bool, writes []rtp.Packet, asks []uint16) []resent {
	t.Helper()
	var out []resent
	synctest.Test(t, func(t *testing.T) {
		i, err := f.NewInterceptor("")
		if err != nil {
			t.Fatal(err)
		}
		info := &interceptor.StreamInfo{SSRC: 1, RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}}}
		if rtx {
			info.SSRCRetransmission, info.PayloadTypeRetransmission = 2, 97
		}
		asked := false // what is written from then on is resent
		w := i.BindLocalStream(info, interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) {
			if asked {
				out = append(out, resent{ssrc: h.SSRC, pt: h.PayloadType, seq: h.SequenceNumber, padding: h.Padding, payload: string(p)})
			}
			return 0, nil
		}))
		buf := make([]byte, 1500)
		for _, p := range writes {
			n := copy(buf, p.Payload)
			h := p.Header
			if _, err := w.Write(&h, buf[:n], nil); err != nil && len(p.Payload) <= maxPayloadLen {
				t.Fatalf("write %d: %v", p.SequenceNumber, err)
			}
			clear(buf) // the caller reuses its buffer
		}
		raw, err := (&rtcp.TransportLayerNack{MediaSSRC: 1, Nacks: rtcp.NackPairsFromSequenceNumbers(asks)}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		r := i.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			return copy(b, raw), a, nil
		}))
		asked = true
		if _, _, err := r.Read(make([]byte, 1500), nil); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the resend goroutine
		if err := i.Close(); err != nil {
			t.Fatal(err)
		}
	})
	if rtx && len(out) > 0 {
		first := out[0].seq
		for k := range out {
			out[k].seq -= first
		}
	}
	return out
}

// TestResponderMatchesPion: pion's nack.ResponderInterceptor and
// rtclab's responder resend the same packets, the same way, with and
// without RTX: after gaps, a wrap of the sequence number, a late packet,
// a repeat, packets with padding (in the payload or after it), an empty
// payload and an oversized one, asked for packets too old, never sent,
// overwritten and kept.
func TestResponderMatchesPion(t *testing.T) {
	var writes []rtp.Packet
	add := func(seq uint16, payload []byte, mod func(*rtp.Header)) {
		h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: 1, Timestamp: uint32(seq) * 90}
		if mod != nil {
			mod(&h)
		}
		writes = append(writes, rtp.Packet{Header: h, Payload: payload})
	}
	pay := func(seq uint16) []byte { return []byte(fmt.Sprintf("payload of %d", seq)) }
	for seq := uint16(64000); seq != 1500; seq++ { // wraps; more than 1,024 packets
		switch {
		case seq%97 == 0: // a gap
			continue
		case seq == 1200:
			add(seq, pay(seq), nil)
			add(seq, []byte("a repeat of 1200"), nil)
			continue
		case seq == 1300:
			add(seq, append(pay(seq), 0, 0, 3), func(h *rtp.Header) { h.Padding = true }) // padding in the payload
			continue
		case seq == 1301:
			add(seq, pay(seq), func(h *rtp.Header) { h.Padding, h.PaddingSize = true, 5 }) // padding after it
			continue
		case seq == 1302:
			add(seq, nil, nil)
			continue
		case seq == 1303:
			add(seq, make([]byte, maxPayloadLen+1), nil) // refused, not sent
			continue
		}
		add(seq, pay(seq), nil)
	}
	add(1400, []byte("late 1400, after 1499"), nil)
	add(97*4, []byte("late gap filler"), nil)
	asks := []uint16{64001, 65535, 0, 1, 97, 97 * 4, 475, 476, 500, 97 * 8, 1000, 1200, 1300, 1301, 1302, 1303, 1400, 1412, 1455, 1498, 1499, 1500, 2000}
	pion, err := nack.NewResponderInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	for _, rtx := range []bool{false, true} {
		want := respond(t, pion, rtx, writes, asks)
		got := respond(t, responderFactory{}, rtx, writes, asks)
		gotShared := respond(t, responderFactory{share: NewPayloadShare()}, rtx, writes, asks)
		if len(want) < 8 {
			t.Fatalf("rtx %v: pion resent %d packets; the test needs more", rtx, len(want))
		}
		for name, g := range map[string][]resent{"own copies": got, "shared copies": gotShared} {
			if fmt.Sprint(g) != fmt.Sprint(want) {
				t.Errorf("rtx %v, %s:\n got %v\nwant %v", rtx, name, g, want)
			}
		}
	}
}

// TestPayloadShare: legs that send one buffer's bytes keep one copy,
// which later bytes in that buffer do not change.
func TestPayloadShare(t *testing.T) {
	s := NewPayloadShare()
	buf := []byte("frame one")
	a, b := s.copyOf(buf), s.copyOf(buf)
	if unsafe.SliceData(a) != unsafe.SliceData(b) {
		t.Error("two legs sending one buffer's bytes keep two copies")
	}
	if unsafe.SliceData(a) == unsafe.SliceData(buf) {
		t.Fatal("kept the caller's buffer")
	}
	copy(buf, "FRAME TWO")
	c := s.copyOf(buf)
	if string(a) != "frame one" || string(c) != "FRAME TWO" || unsafe.SliceData(c) == unsafe.SliceData(a) {
		t.Errorf("after the buffer changed: kept %q, new %q", a, c)
	}
	other := []byte("FRAME TWO") // same bytes, another buffer
	if d := s.copyOf(other); !bytes.Equal(d, other) {
		t.Errorf("copy of another buffer: %q", d)
	}
	if s.copyOf(nil) != nil {
		t.Error("an empty payload got a copy")
	}
	for range 2 * maxShared { // padding probes: a new buffer each
		s.copyOf(make([]byte, 8))
	}
	if len(s.last) > maxShared {
		t.Errorf("remembers %d buffers, bound %d", len(s.last), maxShared)
	}
}
