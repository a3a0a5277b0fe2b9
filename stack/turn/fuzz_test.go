package turn

import (
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	"github.com/pion/transport/v3/stdnet"
	pionturn "github.com/pion/turn/v4"
)

func fuzzSeeds(f *testing.F) {
	build := func(setters ...stun.Setter) []byte {
		m, err := stun.Build(append([]stun.Setter{stun.TransactionID}, setters...)...)
		if err != nil {
			f.Fatal(err)
		}
		return m.Raw
	}
	alloc := stun.NewType(stun.MethodAllocate, stun.ClassRequest)
	key := stun.NewLongTermIntegrity("u", "r", "p")
	for _, seed := range [][]byte{
		nil,
		{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4},
		build(stun.BindingRequest),
		build(stun.BindingRequest, stun.RawAttribute{Type: 0x0030, Value: []byte{1}}, stun.Fingerprint),
		build(alloc, stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}),
		build(alloc, stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{6, 0, 0, 0}},
			stun.NewUsername("u"), stun.NewRealm("r"), stun.NewNonce("n"), key),
		build(stun.NewType(stun.MethodChannelBind, stun.ClassRequest),
			stun.RawAttribute{Type: stun.AttrChannelNumber, Value: []byte{0x3F, 0xFF, 0, 0}},
			stun.NewUsername("u"), stun.NewRealm("r"), stun.NewNonce("n"), key),
		build(stun.NewType(stun.MethodCreatePermission, stun.ClassErrorResponse), key),
		build(stun.NewType(stun.MethodChannelBind, stun.ClassErrorResponse), stun.CodeUnauthorized),
		build(stun.NewType(stun.MethodRefresh, stun.ClassSuccessResponse), stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 2, 88}}),
	} {
		f.Add(seed)
	}
}

// FuzzFix feeds arbitrary messages to the request screen, the response
// rewrite and the stream framing of pionfix.go: none may panic, a
// rewritten response must decode with the same transaction ID, and the
// framing must consume a frame of the length it announced.
func FuzzFix(f *testing.F) {
	fuzzSeeds(f)
	keyFor := pionturn.AuthHandler(func(string, string, net.Addr) ([]byte, bool) {
		return stun.NewLongTermIntegrity("u", "r", "p"), true
	})
	fx := newFixer(net.ParseIP("203.0.113.1").To4(), keyFor)
	client := &net.UDPAddr{IP: net.ParseIP("198.51.100.2"), Port: 5000}
	fx.permission(func(net.Addr, net.IP) bool { return false })(client, net.ParseIP("2001:db8::1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if reply, _ := fx.screen(b, client); reply != nil {
			m := &stun.Message{Raw: reply}
			if err := m.Decode(); err != nil {
				t.Fatalf("screen answered an undecodable message: %v", err)
			}
		}
		out := fx.rewrite(b, client)
		in := &stun.Message{Raw: append([]byte(nil), b...)}
		if in.Decode() == nil && string(out) != string(b) {
			m := &stun.Message{Raw: out}
			if err := m.Decode(); err != nil || m.TransactionID != in.TransactionID {
				t.Fatalf("rewrite made an undecodable or foreign message: %v", err)
			}
		}
		if n := streamFrameLen(b); n > 0 && n < 4 {
			t.Fatalf("frame length %d", n)
		}
	})
}

// FuzzServer sends arbitrary datagrams to a running server on loopback;
// after each, it must still answer a Binding request.
func FuzzServer(f *testing.F) {
	fuzzSeeds(f)
	n, err := stdnet.NewNet()
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(Config{Net: n, RelayIP: net.ParseIP("127.0.0.1").To4(), UDPAddr: "127.0.0.1:0", Secret: "s"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = c.Close() })
	dst := srv.Addr("udp")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1500 {
			return
		}
		if _, err := c.WriteTo(data, dst); err != nil {
			t.Fatal(err)
		}
		probe, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2048)
		for attempt := 0; ; attempt++ {
			if _, err := c.WriteTo(probe.Raw, dst); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second)) // a loaded CI machine
			got := false
			for !got {
				k, _, err := c.ReadFrom(buf)
				if err != nil {
					break
				}
				m := &stun.Message{Raw: append([]byte(nil), buf[:k]...)}
				got = m.Decode() == nil && m.TransactionID == probe.TransactionID && m.Type == stun.BindingSuccess
			}
			if got {
				return
			}
			if attempt == 2 {
				t.Fatal("the server stopped answering Binding requests")
			}
		}
	})
}
