//go:build unix

package turn

import (
	"encoding/binary"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	"github.com/pion/transport/v3/stdnet"
)

// rawClient is a TURN client on a raw UDP socket: just enough of RFC 8656
// (Allocate with long-term credentials, ChannelBind) to put a server's
// ChannelData path under load without a client library's own cost.
type rawClient struct {
	conn        *net.UDPConn
	server      *net.UDPAddr
	user, realm string
	nonce       []byte
	key         stun.MessageIntegrity
	relay       *net.UDPAddr
}

// do sends the request built from setters (signed when the client has a
// nonce) and returns the response, retrying once after a 401 or 438.
func (c *rawClient) do(tb testing.TB, setters ...stun.Setter) *stun.Message {
	tb.Helper()
	for range 2 {
		all := append([]stun.Setter{stun.TransactionID}, setters...)
		if c.nonce != nil {
			all = append(all, stun.NewUsername(c.user), stun.NewRealm(c.realm), stun.NewNonce(string(c.nonce)), c.key)
		}
		req := stun.MustBuild(append(all, stun.Fingerprint)...)
		if _, err := c.conn.WriteToUDP(req.Raw, c.server); err != nil {
			tb.Fatal(err)
		}
		buf := make([]byte, 1500)
		_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.conn.Read(buf)
		if err != nil {
			tb.Fatal(err)
		}
		res := &stun.Message{Raw: buf[:n]}
		if err := res.Decode(); err != nil {
			tb.Fatal(err)
		}
		var code stun.ErrorCodeAttribute
		if res.Type.Class == stun.ClassErrorResponse && code.GetFrom(res) == nil &&
			(code.Code == stun.CodeUnauthorized || code.Code == stun.CodeStaleNonce) {
			var realm stun.Realm
			var nonce stun.Nonce
			if realm.GetFrom(res) != nil || nonce.GetFrom(res) != nil {
				tb.Fatalf("%v without REALM or NONCE", code)
			}
			c.realm, c.nonce = realm.String(), nonce
			if c.key == nil {
				return res // the first request: the caller makes the key
			}
			continue
		}
		return res
	}
	tb.Fatal("credentials refused twice")
	return nil
}

// dialRaw allocates a relay on srv for a new client.
func dialRaw(tb testing.TB, srv *net.UDPAddr, secret string) *rawClient {
	tb.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	user, pass, err := Credentials(secret, "bench", time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	c := &rawClient{conn: conn, server: srv, user: user}
	c.do(tb, stun.NewType(stun.MethodAllocate, stun.ClassRequest)) // learns realm and nonce
	c.key = stun.NewLongTermIntegrity(user, c.realm, pass)
	res := c.do(tb, stun.NewType(stun.MethodAllocate, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}})
	var relay stun.XORMappedAddress
	if err := relay.GetFromAs(res, stun.AttrXORRelayedAddress); err != nil {
		tb.Fatalf("allocate: %v", res)
	}
	c.relay = &net.UDPAddr{IP: relay.IP, Port: relay.Port}
	return c
}

// bind binds channel ch to peer (RFC 8656 §12), which also permits it.
func (c *rawClient) bind(tb testing.TB, ch uint16, peer *net.UDPAddr) {
	tb.Helper()
	res := c.do(tb, stun.NewType(stun.MethodChannelBind, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrChannelNumber, Value: []byte{byte(ch >> 8), byte(ch), 0, 0}},
		xorPeer{IP: peer.IP, Port: peer.Port})
	if res.Type.Class != stun.ClassSuccessResponse {
		tb.Fatalf("channel bind: %v", res)
	}
}

// relayPair starts a server on loopback and two clients bound to each
// other's relay addresses on channel 0x4001, as turnutils_uclient -y does.
func relayPair(tb testing.TB) (a, b *rawClient) {
	tb.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := New(Config{
		Net: n, RelayIP: net.IPv4(127, 0, 0, 1).To4(), UDPAddr: "127.0.0.1:0", Secret: "s", UDPSockets: 1,
		AllowPeer: func(net.IP) bool { return true },
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	addr := srv.Addr("udp").(*net.UDPAddr)
	a, b = dialRaw(tb, addr, "s"), dialRaw(tb, addr, "s")
	a.bind(tb, 0x4001, b.relay)
	b.bind(tb, 0x4001, a.relay)
	return a, b
}

// BenchmarkRelayChannelData is one 1000-byte message relayed the way
// turnutils_uclient -y relays it: client A's ChannelData in on the
// listening socket and out to client B as ChannelData on B's channel to
// A's relayed address (the fast path's hairpin, fastpath.go; before it,
// the message also went out of A's relay socket into B's). allocs/op counts the server's allocations
// (the raw clients allocate nothing per message); cpu-ns/op is the
// process's CPU time (user and system, the clients' two syscalls
// included) per message, which wall time per message (ns/op, one message
// in flight at a time) hides behind scheduling.
func BenchmarkRelayChannelData(b *testing.B) {
	a, c := relayPair(b)
	msg := make([]byte, 4+1000)
	binary.BigEndian.PutUint16(msg[0:2], 0x4001)
	binary.BigEndian.PutUint16(msg[2:4], 1000)
	buf := make([]byte, 1500)
	_ = c.conn.SetReadDeadline(time.Time{})
	b.SetBytes(1000)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := a.conn.WriteToUDP(msg, a.server); err != nil {
			b.Fatal(err)
		}
		n, err := c.conn.Read(buf)
		if err != nil || n != len(msg) || buf[0] != 0x40 {
			b.Fatalf("read %d bytes (%x), %v", n, buf[:min(n, 4)], err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// xorPeer is XOR-PEER-ADDRESS (RFC 8656 §14.3): the XOR-MAPPED-ADDRESS
// encoding under another type.
type xorPeer stun.XORMappedAddress

func (p xorPeer) AddTo(m *stun.Message) error {
	a := stun.XORMappedAddress(p)
	return a.AddToAs(m, stun.AttrXORPeerAddress)
}

// channelData is ChannelData on ch carrying payload (RFC 8656 §12.4).
func channelData(ch uint16, payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload))
	binary.BigEndian.PutUint16(b[0:2], ch)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(payload))) //nolint:gosec // test payloads are small
	return append(b, payload...)
}

// readWithin is the next datagram c receives within d; nil when none.
func readWithin(c *net.UDPConn, d time.Duration) []byte {
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// TestRelayChannelDataEndToEnd relays ChannelData between two clients of
// a real server on loopback, as turnutils_uclient -y does, and checks
// what must not be relayed: an unbound channel's data, and anything for a
// client after it deleted its allocation (Refresh with LIFETIME 0, RFC
// 8656 §8).
func TestRelayChannelDataEndToEnd(t *testing.T) {
	a, b := relayPair(t)
	if _, err := a.conn.WriteToUDP(channelData(0x4001, []byte("hello")), a.server); err != nil {
		t.Fatal(err)
	}
	if got := readWithin(b.conn, 2*time.Second); string(got) != "\x40\x01\x00\x05hello\x00\x00\x00" {
		t.Fatalf("b received %q, want hello on channel 0x4001, padded", got)
	}
	if _, err := b.conn.WriteToUDP(channelData(0x4001, []byte("back")), b.server); err != nil {
		t.Fatal(err)
	}
	if got := readWithin(a.conn, 2*time.Second); string(got) != "\x40\x01\x00\x04back" {
		t.Fatalf("a received %q, want back on channel 0x4001", got)
	}
	_, _ = a.conn.WriteToUDP(channelData(0x4002, []byte("unbound")), a.server)
	if got := readWithin(b.conn, 300*time.Millisecond); got != nil {
		t.Errorf("data on an unbound channel reached b: %q", got)
	}
	res := b.do(t, stun.NewType(stun.MethodRefresh, stun.ClassRequest), stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}})
	if res.Type.Class != stun.ClassSuccessResponse {
		t.Fatalf("refresh 0: %v", res)
	}
	_, _ = a.conn.WriteToUDP(channelData(0x4001, []byte("after")), a.server)
	if got := readWithin(b.conn, 300*time.Millisecond); got != nil {
		t.Errorf("b deleted its allocation and still received %q", got)
	}
}

// TestRelayAllocatesNothing: relaying a bound channel's ChannelData from
// one client to another through the server allocates nothing. Before
// fastpath.go pion/turn allocated 19 times per message (1391 bytes; log
// arguments, address keys, a fresh ChannelData buffer), which kept
// serve's garbage collector busy under load (issue #17).
func TestRelayAllocatesNothing(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector allocates")
	}
	a, b := relayPair(t)
	msg := channelData(0x4001, make([]byte, 1000))
	buf := make([]byte, 1500)
	_ = b.conn.SetReadDeadline(time.Now().Add(time.Minute))
	relay := func() {
		if _, err := a.conn.WriteToUDP(msg, a.server); err != nil {
			t.Fatal(err)
		}
		if n, err := b.conn.Read(buf); err != nil || n != len(msg) {
			t.Fatalf("read %d bytes, %v", n, err)
		}
	}
	relay()
	if allocs := testing.AllocsPerRun(500, relay); allocs >= 1 {
		t.Errorf("%.0f allocations per relayed message, want 0", allocs)
	}
}
