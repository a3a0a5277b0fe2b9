package turn

import (
	"net"
	"net/netip"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// loopbackUDP is a UDP socket on 127.0.0.1 closed with the test.
func loopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func apOf(c *net.UDPConn) netip.AddrPort {
	ap, _ := udpAddrPort(c.LocalAddr())
	return ap
}

// received reads what arrives on c within a short wait; nil for nothing.
func received(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// TestFastPathFollowsPionsEvents drives the fast path with the events
// pion sends as it grants and removes allocations, permissions and
// channels (on Refresh, CreatePermission, ChannelBind and its lifetime
// timers), and checks what it relays, drops and leaves to pion, on real
// loopback sockets.
func TestFastPathFollowsPionsEvents(t *testing.T) {
	listener, relaySock, client, peer := loopbackUDP(t), loopbackUDP(t), loopbackUDP(t), loopbackUDP(t)
	own := []net.Addr{listener.LocalAddr()}
	p := newFastPath(listener, func() []net.Addr { return own })
	h := p.events(newQuotas(Quota{}, nil).events())
	relay := &guardedRelay{PacketConn: relaySock}
	p.opened(relay)
	clientAddr, peerAddr, relayAddr := client.LocalAddr(), peer.LocalAddr(), relaySock.LocalAddr()
	peerIP := peer.LocalAddr().(*net.UDPAddr).IP
	channelData := []byte{0x40, 0x01, 0x00, 0x03, 'a', 'b', 'c'}

	type step struct {
		name      string
		event     func()
		out, back verdict // client->peer ChannelData on 0x4001, peer->client datagram
	}
	steps := []step{
		{"no allocation: pion's", func() {}, toPion, toPion},
		{"allocated, nothing bound: pion's", func() { h.OnAllocationCreated(clientAddr, listener.LocalAddr(), "UDP", "u", "r", relayAddr, 0) }, toPion, toPion},
		{"permitted but no channel: pion's (Send and Data indications)", func() { h.OnPermissionCreated(clientAddr, nil, "UDP", "u", "r", relayAddr, peerIP) }, toPion, toPion},
		{"channel bound: relayed", func() { h.OnChannelCreated(clientAddr, nil, "UDP", "u", "r", relayAddr, peerAddr, 0x4001) }, relayed, relayed},
		{"permission expired, channel alive: dropped (RFC 8656 §9)", func() { h.OnPermissionDeleted(clientAddr, nil, "UDP", "u", "r", relayAddr, peerIP) }, dropped, dropped},
		{"permission refreshed by ChannelBind: relayed", func() { h.OnPermissionCreated(clientAddr, nil, "UDP", "u", "r", relayAddr, peerIP) }, relayed, relayed},
		{"channel expired: pion's", func() { h.OnChannelDeleted(clientAddr, nil, "UDP", "u", "r", relayAddr, peerAddr, 0x4001) }, toPion, toPion},
		{"bound again: relayed", func() { h.OnChannelCreated(clientAddr, nil, "UDP", "u", "r", relayAddr, peerAddr, 0x4001) }, relayed, relayed},
		{"allocation deleted: pion's", func() { h.OnAllocationDeleted(clientAddr, listener.LocalAddr(), "UDP", "u", "r") }, toPion, toPion},
	}
	for i, s := range steps {
		s.event()
		if got := p.fromClient(channelData, apOf(client)); got != s.out {
			t.Errorf("%s: client's ChannelData %v, want %v", s.name, got, s.out)
		}
		if got := received(t, peer); (got != nil) != (s.out == relayed) || (got != nil && string(got) != "abc") {
			t.Errorf("%s: peer received %q", s.name, got)
		}
		a := relay.fast.Load()
		// Linked from the allocation's creation to its deletion.
		if linked := i > 0 && i < len(steps)-1; (a != nil) != linked {
			t.Errorf("%s: relay socket linked %v, want %v", s.name, a != nil, linked)
		}
		if a == nil {
			continue // readRelay hands every datagram to pion
		}
		buf := make([]byte, 16)
		copy(buf[4:], "xyz")
		if got := p.toClient(a, buf, 3, apOf(peer)); got != s.back {
			t.Errorf("%s: peer's datagram %v, want %v", s.name, got, s.back)
		}
		want := "\x40\x01\x00\x03xyz\x00" // padded to 4 bytes, as pion pads
		if got := received(t, client); (got != nil) != (s.back == relayed) || (got != nil && string(got) != want) {
			t.Errorf("%s: client received %q, want %q", s.name, got, want)
		}
	}
}

// TestFastPathHairpin: ChannelData from client A to the relayed address
// of client B's allocation on the same server goes straight to B as
// ChannelData on B's channel to A's relayed address, as B's relay socket
// would have sent it; without that channel it takes the socket path
// (pion sends B a Data indication), and without B's permission for A's
// relay it is dropped (RFC 8656 §9).
func TestFastPathHairpin(t *testing.T) {
	listener, relayA, relayB, clientA, clientB := loopbackUDP(t), loopbackUDP(t), loopbackUDP(t), loopbackUDP(t), loopbackUDP(t)
	own := []net.Addr{listener.LocalAddr()}
	p := newFastPath(listener, func() []net.Addr { return own })
	h := p.events(pionturn.EventHandler{})
	ra, rb := &guardedRelay{PacketConn: relayA}, &guardedRelay{PacketConn: relayB}
	p.opened(ra)
	p.opened(rb)
	lo := net.IPv4(127, 0, 0, 1)
	h.OnAllocationCreated(clientA.LocalAddr(), nil, "UDP", "u", "r", relayA.LocalAddr(), 0)
	h.OnAllocationCreated(clientB.LocalAddr(), nil, "UDP", "u", "r", relayB.LocalAddr(), 0)
	h.OnPermissionCreated(clientA.LocalAddr(), nil, "UDP", "u", "r", relayA.LocalAddr(), lo)
	h.OnChannelCreated(clientA.LocalAddr(), nil, "UDP", "u", "r", relayA.LocalAddr(), relayB.LocalAddr(), 0x4001)

	steps := []struct {
		name            string
		event           func()
		want            verdict
		atRelayB, atClB string // what B's relay socket and B's client receive
	}{
		{"B has no channel to A's relay: the socket path", func() {}, relayed, "abc", ""},
		{"B's channel and permission: straight to B", func() {
			h.OnPermissionCreated(clientB.LocalAddr(), nil, "UDP", "u", "r", relayB.LocalAddr(), lo)
			h.OnChannelCreated(clientB.LocalAddr(), nil, "UDP", "u", "r", relayB.LocalAddr(), relayA.LocalAddr(), 0x4005)
		}, relayed, "", "\x40\x05\x00\x03abc\x00"},
		{"B's permission expired: dropped", func() {
			h.OnPermissionDeleted(clientB.LocalAddr(), nil, "UDP", "u", "r", relayB.LocalAddr(), lo)
		}, dropped, "", ""},
		{"B's allocation deleted: the socket path", func() {
			h.OnAllocationDeleted(clientB.LocalAddr(), nil, "UDP", "u", "r")
		}, relayed, "abc", ""},
	}
	for _, st := range steps {
		st.event()
		b := make([]byte, 7, 16)
		copy(b, []byte{0x40, 0x01, 0x00, 0x03, 'a', 'b', 'c'})
		if got := p.fromClient(b, apOf(clientA)); got != st.want {
			t.Errorf("%s: %v, want %v", st.name, got, st.want)
		}
		if got := received(t, relayB); string(got) != st.atRelayB {
			t.Errorf("%s: B's relay socket received %q, want %q", st.name, got, st.atRelayB)
		}
		if got := received(t, clientB); string(got) != st.atClB {
			t.Errorf("%s: B's client received %q, want %q", st.name, got, st.atClB)
		}
	}
}

// TestFastPathLeavesToPion: what the fast path must not relay goes to
// pion untouched: other channel numbers, lengths past the datagram, STUN,
// TCP clients, and channels to the server's own listening address (whose
// data pion's relay socket drops, RFC 8656 §21.3).
func TestFastPathLeavesToPion(t *testing.T) {
	listener, relaySock, client, peer := loopbackUDP(t), loopbackUDP(t), loopbackUDP(t), loopbackUDP(t)
	own := []net.Addr{listener.LocalAddr()}
	p := newFastPath(listener, func() []net.Addr { return own })
	h := p.events(pionturn.EventHandler{})
	relay := &guardedRelay{PacketConn: relaySock}
	p.opened(relay)
	clientAddr, relayAddr := client.LocalAddr(), relaySock.LocalAddr()
	h.OnAllocationCreated(clientAddr, nil, "UDP", "u", "r", relayAddr, 0)
	h.OnPermissionCreated(clientAddr, nil, "UDP", "u", "r", relayAddr, net.IPv4(127, 0, 0, 1))
	h.OnChannelCreated(clientAddr, nil, "UDP", "u", "r", relayAddr, peer.LocalAddr(), 0x4001)
	h.OnChannelCreated(clientAddr, nil, "UDP", "u", "r", relayAddr, listener.LocalAddr(), 0x4002)
	tcpClient := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	h.OnAllocationCreated(tcpClient, nil, "UDP", "u", "r", relayAddr, 0)
	for _, c := range []struct {
		name string
		b    []byte
		from netip.AddrPort
	}{
		{"unbound channel", []byte{0x40, 0x09, 0, 1, 'a'}, apOf(client)},
		{"channel to the server's listener", []byte{0x40, 0x02, 0, 1, 'a'}, apOf(client)},
		{"length past the datagram", []byte{0x40, 0x01, 0, 9, 'a'}, apOf(client)},
		{"header only, short", []byte{0x40, 0x01, 0}, apOf(client)},
		{"STUN", []byte{0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42}, apOf(client)},
		{"unknown client", []byte{0x40, 0x01, 0, 1, 'a'}, netip.MustParseAddrPort("127.0.0.1:9")},
	} {
		if got := p.fromClient(c.b, c.from); got != toPion {
			t.Errorf("%s: %v, want it left to pion", c.name, got)
		}
	}
	if received(t, peer) != nil {
		t.Error("the peer received data the fast path should have left to pion")
	}
	if p.fastAllocOf(netip.MustParseAddrPort("127.0.0.1:9")) != nil {
		t.Error("a TCP client's allocation was mirrored")
	}
}

// FuzzFastPath feeds arbitrary datagrams from a client with channel
// 0x4001 bound to the fast path's ChannelData parser: none may panic, it
// relays exactly the frames on 0x4001 whose length fits the datagram, and
// the peer receives exactly the frame's data.
func FuzzFastPath(f *testing.F) {
	f.Add([]byte{0x40, 0x01, 0x00, 0x03, 'a', 'b', 'c', 0})
	f.Add([]byte{0x40, 0x01, 0xff, 0xff, 'a'})
	f.Add([]byte{0x40, 0x02, 0x00, 0x00})
	f.Add([]byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42})
	listener, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	defer listener.Close()
	relaySock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	defer relaySock.Close()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	defer peer.Close()
	p := newFastPath(listener, func() []net.Addr { return []net.Addr{listener.LocalAddr()} })
	h := p.events(pionturn.EventHandler{})
	p.opened(&guardedRelay{PacketConn: relaySock})
	client := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	h.OnAllocationCreated(client, nil, "UDP", "u", "r", relaySock.LocalAddr(), 0)
	h.OnPermissionCreated(client, nil, "UDP", "u", "r", relaySock.LocalAddr(), net.IPv4(127, 0, 0, 1))
	h.OnChannelCreated(client, nil, "UDP", "u", "r", relaySock.LocalAddr(), peer.LocalAddr(), 0x4001)
	from, _ := udpAddrPort(client)
	buf := make([]byte, 70000)
	f.Fuzz(func(t *testing.T, b []byte) {
		v := p.fromClient(b, from)
		length := -1
		if len(b) >= 4 {
			length = int(b[2])<<8 | int(b[3])
		}
		frame := length >= 0 && b[0] == 0x40 && b[1] == 0x01 && 4+length <= len(b)
		if frame != (v == relayed) {
			t.Fatalf("%x: %v", b[:min(len(b), 8)], v)
		}
		if v != relayed {
			return
		}
		_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := peer.Read(buf)
		if err != nil || string(buf[:n]) != string(b[4:4+length]) {
			t.Fatalf("peer received %d bytes (%v), want the frame's %d", n, err, length)
		}
	})
}
