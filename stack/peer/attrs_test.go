package peer

import (
	"maps"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// TestHeaderCache: every interceptor above headerCache gets the header it
// parsed from GetRTPHeader, with the packet's fields; two reads in a row
// never share a header (rtxFold's pump reads one ahead), the third reuses
// the first's; bytes that do not parse pass, for GetRTPHeader to refuse.
func TestHeaderCache(t *testing.T) {
	var next []byte
	under := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, next), a, nil
	})
	r := (&headerCache{}).BindRemoteStream(&interceptor.StreamInfo{SSRC: 7}, under)
	buf := make([]byte, 1500)
	attrs := interceptor.Attributes{}
	var seen []*rtp.Header
	for seq := range uint16(3) {
		next, _ = (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: 7}, Payload: []byte{9}}).Marshal()
		clear(attrs)
		n, a, err := r.Read(buf, attrs)
		if err != nil {
			t.Fatal(err)
		}
		h, err := a.GetRTPHeader(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := cachedHeader(a); !ok || c != h {
			t.Fatalf("read %d: GetRTPHeader parsed a header of its own", seq)
		}
		if h.SequenceNumber != seq || h.SSRC != 7 {
			t.Fatalf("read %d: header %v", seq, h)
		}
		seen = append(seen, h)
	}
	if seen[0] == seen[1] || seen[1] == seen[2] {
		t.Error("two reads in a row share a header")
	}
	if seen[0] != seen[2] {
		t.Error("the third read did not reuse the first read's header")
	}
	if seen[0].SequenceNumber != 2 {
		t.Errorf("reused header holds sequence number %d, want 2", seen[0].SequenceNumber)
	}

	next = []byte{0x80, 0x60} // too short for an RTP header
	n, a, err := r.Read(buf, nil)
	if err != nil || n != 2 {
		t.Fatalf("a short packet: %d bytes, %v", n, err)
	}
	if _, ok := cachedHeader(a); ok {
		t.Error("cached a header for bytes that do not parse")
	}
	if _, err := a.GetRTPHeader(buf[:n]); err == nil {
		t.Error("GetRTPHeader parsed a 2-byte packet")
	}
}

// TestWriteAttrs: the writer below sees what the caller passed, and
// nothing of an earlier write; what it sets stays out of the caller's map.
func TestWriteAttrs(t *testing.T) {
	var below []interceptor.Attributes
	w := (&writeAttrs{}).BindLocalStream(&interceptor.StreamInfo{SSRC: 1}, interceptor.RTPWriterFunc(
		func(_ *rtp.Header, _ []byte, a interceptor.Attributes) (int, error) {
			below = append(below, maps.Clone(a))
			a.Set("set below", true)
			return 0, nil
		}))
	h := &rtp.Header{SSRC: 1}
	caller := interceptor.Attributes{"from the caller": 1}
	if _, err := w.Write(h, nil, caller); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(h, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(below) != 2 || below[0]["from the caller"] != 1 || len(below[0]) != 1 || len(below[1]) != 0 {
		t.Fatalf("the writer below saw %v, want [map[from the caller:1] map[]]", below)
	}
	if len(caller) != 1 {
		t.Errorf("the caller's attributes became %v", caller)
	}
	// As pion's bandwidth estimator does below it: no allocation a write.
	w = (&writeAttrs{}).BindLocalStream(&interceptor.StreamInfo{SSRC: 1}, interceptor.RTPWriterFunc(
		func(_ *rtp.Header, _ []byte, a interceptor.Attributes) (int, error) {
			a.Set("twcc extension", uint8(5))
			return 0, nil
		}))
	empty := interceptor.Attributes{}
	if n := testing.AllocsPerRun(100, func() { _, _ = w.Write(h, nil, empty) }); n != 0 {
		t.Errorf("%v allocations a write", n)
	}
}
