package peer

import (
	"errors"
	"io"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// TestReadRTCP: ReadRTCP returns what pion's ReadRTCP would (the parsed
// packet, or an error for bytes that do not parse or a failed read), and
// reuses the interceptors' parse when the attributes carry one.
func TestReadRTCP(t *testing.T) {
	pli, err := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2}})
	if err != nil {
		t.Fatal(err)
	}
	parsed := interceptor.Attributes{}
	if _, err := parsed.GetRTCPPackets(pli); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		attr    interceptor.Attributes
		readErr error
		wantErr bool
	}{
		{name: "no attributes", data: pli},
		{name: "empty attributes", data: pli, attr: interceptor.Attributes{}},
		{name: "parsed by an interceptor", data: pli, attr: parsed},
		{name: "does not parse", data: []byte{0x80, 0xc8, 0, 9}, wantErr: true},
		{name: "read fails", readErr: io.EOF, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := func(b []byte) (int, interceptor.Attributes, error) {
				if tc.readErr != nil {
					return 0, nil, tc.readErr
				}
				return copy(b, tc.data), tc.attr, nil
			}
			pkts, err := ReadRTCP(read, make([]byte, ReceiveMTU))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", pkts)
				}
				if tc.readErr != nil && !errors.Is(err, tc.readErr) {
					t.Fatalf("err %v, want %v", err, tc.readErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, ok := pkts[0].(*rtcp.PictureLossIndication)
			if len(pkts) != 1 || !ok || p.MediaSSRC != 2 {
				t.Fatalf("got %v", pkts)
			}
		})
	}
}
