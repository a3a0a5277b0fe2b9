package probes

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/rtclab/rtclab/analysis"
)

func rtpPacket(t testing.TB, ssrc uint32, seq uint16) []byte {
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: ssrc}, Payload: make([]byte, 20)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func channelData(b []byte) []byte {
	out := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint16(out, 0x4001)
	binary.BigEndian.PutUint16(out[2:], uint16(len(b)))
	return append(out, b...)
}

// indication wraps b in a TURN Send (0x0016) or Data (0x0017)
// indication: an XOR-PEER-ADDRESS, then the DATA attribute, padded to 4
// bytes (RFC 8656 section 11).
func indication(typ uint16, b []byte) []byte {
	out := stun(typ, 9)
	out = binary.BigEndian.AppendUint16(out, 0x0012) // XOR-PEER-ADDRESS
	out = binary.BigEndian.AppendUint16(out, 8)
	out = append(out, 0, 1, 0, 0, 0, 0, 0, 0)
	out = binary.BigEndian.AppendUint16(out, 0x0013) // DATA
	out = binary.BigEndian.AppendUint16(out, uint16(len(b)))
	out = append(out, b...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)-20))
	return out
}

func stun(typ uint16, id byte) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b, typ)
	binary.BigEndian.PutUint32(b[4:], 0x2112A442)
	b[8] = id
	return b
}

func TestSeqLoss(t *testing.T) {
	for _, c := range []struct {
		name           string
		seqs           []uint16
		expected, lost int
	}{
		{"none", nil, 0, 0},
		{"clean", []uint16{1, 2, 3, 4}, 4, 0},
		{"a gap", []uint16{1, 2, 4, 5}, 5, 1},
		{"reordered, not lost", []uint16{1, 3, 2, 4}, 4, 0},
		{"duplicate", []uint16{1, 2, 2, 3}, 3, 0},
		{"across the wrap", []uint16{65534, 65535, 1, 2}, 5, 1},
	} {
		var ps []analysis.Packet
		for _, s := range c.seqs {
			ps = append(ps, analysis.Packet{Seq: s})
		}
		if e, l := SeqLoss(ps); e != c.expected || l != c.lost {
			t.Errorf("%s: expected %d lost %d, want %d %d", c.name, e, l, c.expected, c.lost)
		}
	}
}

func TestWire(t *testing.T) {
	w := NewWire()
	t0 := time.Unix(100, 0)
	me := &net.UDPAddr{IP: net.IPv4(10, 0, 1, 2), Port: 5000}
	them := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 10), Port: 6000}
	w.Add(t0, them, me, rtpPacket(t, 7, 1))
	w.Add(t0.Add(time.Millisecond), them, me, channelData(rtpPacket(t, 7, 3))) // relayed
	w.Add(t0, them, me, []byte{0x80, 200, 0, 1})                               // short: ignored
	rtcp := rtpPacket(t, 7, 9)
	rtcp[1] = 200 // an RTCP sender report's type, not RTP
	w.Add(t0, them, me, rtcp)
	w.Add(t0, me, them, stun(0x0001, 1))                          // my request
	w.Add(t0.Add(40*time.Millisecond), them, me, stun(0x0101, 1)) // its answer
	w.Add(t0, them, me, stun(0x0001, 2))                          // their request
	w.Add(t0.Add(time.Microsecond), me, them, stun(0x0101, 2))    // my answer: not my round trip
	if e, l := SeqLoss(w.Stream(7, time.Time{})); e != 3 || l != 1 {
		t.Errorf("stream 7: %d expected, %d lost; want 3 and 1 (ChannelData unwrapped, RTCP skipped)", e, l)
	}
	// Relayed before a channel was bound: in Send and Data indications
	// (a Chromium behind a relay sends its first media so; the old count
	// missed those packets: 255 of 256 sent).
	w.Add(t0, me, them, indication(0x0016, rtpPacket(t, 8, 1)))
	w.Add(t0, them, me, indication(0x0017, rtpPacket(t, 8, 2)))
	w.Add(t0, them, me, indication(0x0011, rtpPacket(t, 8, 3))) // a Refresh request's type: no data
	if e, l := SeqLoss(w.Stream(8, time.Time{})); e != 2 || l != 0 {
		t.Errorf("stream 8: %d expected, %d lost; want 2 and 0 (indications unwrapped)", e, l)
	}
	if n := len(w.Stream(7, t0)); n != 1 {
		t.Errorf("%d packets up to t0, want 1", n)
	}
	rtts := w.RTTs(func(src, _ *net.UDPAddr) bool { return src.Port == me.Port })
	if len(rtts) != 1 || rtts[0] != 40*time.Millisecond {
		t.Errorf("round trips %v, want [40ms]", rtts)
	}
}

func FuzzWireAdd(f *testing.F) {
	f.Add(rtpPacket(f, 1, 1))
	f.Add(channelData(rtpPacket(f, 1, 2)))
	f.Add(stun(0x0001, 3))
	f.Add(indication(0x0017, rtpPacket(f, 1, 4)))
	f.Add([]byte{0x40, 0x01, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		w := NewWire()
		w.Add(time.Unix(1, 0), &net.UDPAddr{Port: 1}, &net.UDPAddr{Port: 2}, b)
		SeqLoss(w.Stream(1, time.Time{}))
		w.RTTs(func(_, _ *net.UDPAddr) bool { return true })
	})
}

// A port the host closed mid-stream (an ICE restart that gathered new
// sockets): the packet its ICMP port unreachable quotes and every later
// one to that port reached no socket, and the stream's loss counts them,
// as the receiver's reports do (RFC 3550 section 6.4.1: expected less
// received); the RTCP and STUN that also arrive there are not counted.
// Once the host sends from the port again a socket is bound there, and
// what arrives is received. The old recount counted all eight packets
// as arrived: loss 0 against the receiver's reported 3 of 8.
func TestWireRefused(t *testing.T) {
	host := &net.UDPAddr{IP: net.IP{198, 51, 100, 11}, Port: 57511}
	other := &net.UDPAddr{IP: net.IP{198, 51, 100, 11}, Port: 33521}
	peer := &net.UDPAddr{IP: net.IP{203, 0, 113, 10}, Port: 40088}
	w := NewWire()
	at := time.Unix(0, 0)
	send := func(seq uint16, to *net.UDPAddr) {
		at = at.Add(20 * time.Millisecond)
		w.Add(at, peer, to, rtpPacket(t, 7, seq))
	}
	send(1, host)
	send(2, host)
	send(3, host)                             // the port is closed now:
	w.Refused(host, peer, rtpPacket(t, 7, 3)) // the ICMP quotes seq 3
	send(4, host)                             // no ICMP (rate limited): refused all the same
	w.Add(at, peer, host, stun(0x0001, 1))
	send(5, other) // the new port
	send(6, host)
	w.Add(at, host, peer, stun(0x0001, 2)) // the host sends from its old port: open again
	send(7, host)
	send(8, other)
	exp, lost := SeqLoss(w.Stream(7, time.Time{}))
	if exp != 8 || lost != 3 || w.RefusedPackets(7) != 3 {
		t.Errorf("expected %d lost %d refused %d, want 8, 3 (seq 3, 4, 6), 3", exp, lost, w.RefusedPackets(7))
	}
	// A refusal of a packet not counted (its quote is no RTP) closes the
	// port without taking anything back.
	w2 := NewWire()
	w2.Add(at, peer, host, rtpPacket(t, 9, 1))
	w2.Refused(host, peer, []byte{1, 2})
	w2.Add(at, peer, host, rtpPacket(t, 9, 2))
	if got := w2.Stream(9, time.Time{}); len(got) != 1 || got[0].Seq != 1 || w2.RefusedPackets(9) != 1 {
		t.Errorf("stream %+v, refused %d; want seq 1 only, 1 refused", got, w2.RefusedPackets(9))
	}
}
