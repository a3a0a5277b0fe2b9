package turn

import (
	"net"
	"testing"

	"github.com/pion/stun/v3"
)

// BenchmarkFixerDataPath measures what the fixer adds to relayed data:
// ChannelData and Send indications in (screen), Data indications out
// (rewrite), against a bare copy of the same bytes.
func BenchmarkFixerDataPath(b *testing.B) {
	f := newFixer(net.ParseIP("203.0.113.1").To4(), nil)
	client := &net.UDPAddr{IP: net.ParseIP("198.51.100.2"), Port: 5000}
	payload := make([]byte, 1200)
	channelData := append([]byte{0x40, 0x00, 0x04, 0xB0}, payload...)
	send, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		stun.RawAttribute{Type: stun.AttrXORPeerAddress, Value: []byte{0, 1, 0x21, 0x12, 0x21, 0x12, 0xa4, 0x43}},
		stun.RawAttribute{Type: stun.AttrData, Value: payload})
	if err != nil {
		b.Fatal(err)
	}
	data, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodData, stun.ClassIndication),
		stun.RawAttribute{Type: stun.AttrXORPeerAddress, Value: []byte{0, 1, 0x21, 0x12, 0x21, 0x12, 0xa4, 0x43}},
		stun.RawAttribute{Type: stun.AttrData, Value: payload})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		run  func()
	}{
		{"screen-channeldata", func() { f.screen(channelData, client) }},
		{"screen-send", func() { f.screen(send.Raw, client) }},
		{"rewrite-data", func() { f.rewrite(data.Raw, client) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.run()
			}
		})
	}
}
