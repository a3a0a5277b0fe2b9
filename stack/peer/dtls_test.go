package peer_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/transport/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/stack/peer"
)

// dropFirstHandshake is a transport.Net whose UDP sockets lose the first
// datagram they send that carries a DTLS handshake record (RFC 6347
// section 4.1: content type 22).
type dropFirstHandshake struct {
	transport.Net
	mu      sync.Mutex
	dropped []byte // the first byte of the handshake message lost
}

func (d *dropFirstHandshake) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := d.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &dropConn{UDPConn: c, d: d}, nil
}

type dropConn struct {
	transport.UDPConn
	d *dropFirstHandshake
}

// newPC is peer.New on n with the default parameters; the caller
// closes it (before the network it runs on).
func newPC(t *testing.T, n transport.Net) *peer.PC {
	t.Helper()
	pc, err := peer.New(peer.Params{Net: n})
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

func (c *dropConn) drop(b []byte) bool {
	// A DTLS record header is 13 bytes; the handshake header's first byte
	// is the message type.
	if len(b) < 14 || b[0] != 22 {
		return false
	}
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if c.d.dropped != nil {
		return false
	}
	c.d.dropped = []byte{b[13]}
	return true
}

func (c *dropConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.drop(b) {
		return len(b), nil
	}
	return c.UDPConn.WriteTo(b, addr)
}

func (c *dropConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	if c.drop(b) {
		return len(b), nil
	}
	return c.UDPConn.WriteToUDP(b, addr)
}

// TestLostServerFlightConnects: the DTLS server's first flight is lost
// and the call still connects. pion/dtls v3.0.9 answered the first
// ClientHello with a HelloVerifyRequest and then ignored the client's
// retransmissions (pion/dtls#479): with the HelloVerifyRequest lost, the
// call never connected (seen as 0 streams in an SFU call with 2 % uplink
// loss). peer.New skips the cookie exchange, so the first flight is the
// ServerHello flight, which the server retransmits.
func TestLostServerFlightConnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, err := netem.New(netem.Config{Seed: 1, Hosts: []netem.HostConfig{
			{Name: "a", Uplink: netem.Impairment{Delay: 10 * time.Millisecond}},
			{Name: "b", Uplink: netem.Impairment{Delay: 10 * time.Millisecond}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		ha, _ := n.Host("a")
		hb, _ := n.Host("b")
		// a offers with role actpass and pion's answerer takes the DTLS
		// client role (RFC 8842 section 5.3), so a is the DTLS server.
		lossy := &dropFirstHandshake{Net: ha.Net}
		a := newPC(t, lossy)
		defer a.Close()
		b := newPC(t, hb.Net)
		defer b.Close()
		if _, err := a.CreateDataChannel("x", nil); err != nil {
			t.Fatal(err)
		}
		connect(t, a, b)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for a.ConnectionState() != webrtc.PeerConnectionStateConnected && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		lossy.mu.Lock()
		dropped := lossy.dropped
		lossy.mu.Unlock()
		if dropped == nil {
			t.Fatal("the DTLS server sent no handshake: the test dropped nothing")
		}
		if got := a.ConnectionState(); got != webrtc.PeerConnectionStateConnected {
			t.Fatalf("30 s after losing the DTLS server's first handshake datagram (message type %d), the connection is %s", dropped[0], got)
		}
	})
}
