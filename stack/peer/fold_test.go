package peer

import (
	"bytes"
	"io"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// countingReader returns packets 0..n-1 at once, each an RTP packet whose
// sequence number is its index and whose payload repeats the index.
type countingReader struct{ i, n int }

func (r *countingReader) Read(b []byte, _ interceptor.Attributes) (int, interceptor.Attributes, error) {
	if r.i == r.n {
		return 0, nil, io.EOF
	}
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(r.i), SSRC: 1}, Payload: bytes.Repeat([]byte{byte(r.i)}, 100+r.i%900)}
	r.i++
	n, err := p.MarshalTo(b)
	return n, nil, err
}

// The fold's pump reads a packet ahead into buffers it reuses (rtx.go,
// pump): every packet must reach the reader with its own bytes, also when
// the stream underneath has the next packet ready at once.
func TestFoldKeepsEveryPacket(t *testing.T) {
	f, err := rtxFoldFactory{out: make(chan *rtxFold, 1)}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const n = 2000
	r := f.BindRemoteStream(&interceptor.StreamInfo{SSRC: 1}, &countingReader{n: n})
	buf := make([]byte, 1500)
	for i := range n {
		m, _, err := r.Read(buf, nil)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:m]); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if int(p.SequenceNumber) != i || !bytes.Equal(p.Payload, bytes.Repeat([]byte{byte(i)}, 100+i%900)) {
			t.Fatalf("packet %d came out as packet %d with other bytes", i, p.SequenceNumber)
		}
	}
}
