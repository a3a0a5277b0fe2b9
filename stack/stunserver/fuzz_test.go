package stunserver_test

import (
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/stack/stunserver"
)

// FuzzServer sends arbitrary datagrams to a running RFC 5780 responder on
// loopback. After each one the responder must still answer a well-formed
// Binding request, and a datagram that is itself a Binding request
// (RFC 5389 §6) must get a response with its transaction ID, a valid
// FINGERPRINT (§15.5) and our address in XOR-MAPPED-ADDRESS.
func FuzzServer(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42},
		mustBuild(f, stun.BindingRequest),
		mustBuild(f, stun.BindingRequest, changeRequest(0x6)),
		mustBuild(f, stun.BindingRequest, changeRequest(0x2)),
		mustBuild(f, stun.BindingRequest, stun.RawAttribute{Type: stun.AttrChangeRequest, Value: []byte{1, 2}}),
		mustBuild(f, stun.BindingRequest, stun.NewUsername("u"), stun.Fingerprint),
		mustBuild(f, stun.BindingSuccess),
		mustBuild(f, stun.NewType(stun.MethodAllocate, stun.ClassRequest)),
		mustBuild(f, stun.BindingRequest, stun.RawAttribute{Type: stun.AttrPadding, Value: make([]byte, 1600)}),
		mustBuild(f, stun.BindingRequest, stun.RawAttribute{Type: 0x0030, Value: []byte{1}}, stun.Fingerprint),
	} {
		f.Add(seed)
	}
	n, err := stdnet.NewNet()
	if err != nil {
		f.Fatal(err)
	}
	srv, err := stunserver.New(stunserver.Config{Net: n, Primary: "127.0.0.1:0", Alternate: "127.0.0.2:0"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { c.Close() })
	me := c.LocalAddr().(*net.UDPAddr)

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 60000 {
			return // more than one UDP datagram holds
		}
		var fuzzID [stun.TransactionIDSize]byte
		expectFuzz := false
		if stun.IsMessage(data) {
			m := &stun.Message{Raw: append([]byte(nil), data...)}
			// A Binding request is answered unless its FINGERPRINT is
			// wrong (RFC 8489 §7: discarded).
			if m.Decode() == nil && m.Type == stun.BindingRequest &&
				(!m.Contains(stun.AttrFingerprint) || stun.Fingerprint.Check(m) == nil) {
				expectFuzz, fuzzID = true, m.TransactionID
			}
		}
		if _, err := c.WriteTo(data, srv.Primary()); err != nil {
			t.Fatal(err)
		}
		probe := mustBuild(t, stun.BindingRequest)
		pm := &stun.Message{Raw: probe}
		if err := pm.Decode(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteTo(probe, srv.Primary()); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64*1024)
		gotProbe, gotFuzz := false, false
		for !gotProbe || (expectFuzz && !gotFuzz) {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			k, _, err := c.ReadFrom(buf)
			if err != nil {
				t.Fatalf("probe answered %v, fuzz request answered %v (expected %v): %v", gotProbe, gotFuzz, expectFuzz, err)
			}
			res := &stun.Message{Raw: append([]byte(nil), buf[:k]...)}
			if err := res.Decode(); err != nil {
				t.Fatalf("undecodable response: %v", err)
			}
			if err := stun.Fingerprint.Check(res); err != nil {
				t.Fatalf("response fingerprint: %v", err)
			}
			switch res.TransactionID {
			case pm.TransactionID:
				gotProbe = true
				checkMapped(t, res, me)
			case fuzzID:
				if !expectFuzz {
					t.Fatalf("a response to a datagram that is no Binding request: %v", res)
				}
				gotFuzz = true
				if res.Type == stun.BindingSuccess {
					checkMapped(t, res, me)
				} else if res.Type.Class != stun.ClassErrorResponse {
					t.Fatalf("response type %v", res.Type)
				}
			default:
				// A late answer to an earlier iteration's request.
			}
		}
	})
}

func checkMapped(t *testing.T, res *stun.Message, me *net.UDPAddr) {
	t.Helper()
	var xa stun.XORMappedAddress
	if err := xa.GetFrom(res); err != nil || !xa.IP.Equal(me.IP) || xa.Port != me.Port {
		t.Fatalf("XOR-MAPPED-ADDRESS %v (%v), want %v", xa, err, me)
	}
}

func changeRequest(flags byte) stun.Setter {
	return stun.RawAttribute{Type: stun.AttrChangeRequest, Value: []byte{0, 0, 0, flags}}
}

func mustBuild(tb testing.TB, setters ...stun.Setter) []byte {
	tb.Helper()
	m, err := stun.Build(append([]stun.Setter{stun.TransactionID}, setters...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return m.Raw
}
