package stunserver_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/stack/stunserver"

	"github.com/rtclab/rtclab/internal/leakcheck"
)

func TestConfigErrors(t *testing.T) {
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []stunserver.Config{
		{},
		{Net: n},
		{Net: n, Primary: "nonsense"},
		{Net: n, Primary: "127.0.0.1:0", Alternate: "127.0.0.1:0"},
		{Net: n, Primary: "127.0.0.1:3478", Alternate: "127.0.0.2:3478"},
		{Net: n, Primary: "[::1]:0"},
	} {
		if _, err := stunserver.New(cfg); !errors.Is(err, stunserver.ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

// TestChangeRequest checks RFC 5780 §6.1: the answer comes from the socket
// CHANGE-REQUEST asks for, with RESPONSE-ORIGIN and OTHER-ADDRESS.
func TestChangeRequest(t *testing.T) {
	leakcheck.Check(t)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := stunserver.New(stunserver.Config{Net: n, Primary: "127.0.0.1:0", Alternate: "127.0.0.2:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p, o := srv.Primary(), srv.Other()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		change   byte
		wantFrom *net.UDPAddr
	}{
		{0, p},
		{0x2, &net.UDPAddr{IP: p.IP, Port: o.Port}},
		{0x4, &net.UDPAddr{IP: o.IP, Port: p.Port}},
		{0x6, o},
	}
	for _, tt := range tests {
		m := request(t, tt.change)
		if _, err := c.WriteTo(m.Raw, p); err != nil {
			t.Fatal(err)
		}
		resp, from := read(t, c)
		if from.String() != tt.wantFrom.String() {
			t.Errorf("change %#x: answer from %s, want %s", tt.change, from, tt.wantFrom)
		}
		var origin stun.ResponseOrigin
		var other stun.OtherAddress
		var mapped stun.XORMappedAddress
		if err := origin.GetFrom(resp); err != nil || origin.String() != tt.wantFrom.String() {
			t.Errorf("change %#x: RESPONSE-ORIGIN %s (%v)", tt.change, origin, err)
		}
		if err := other.GetFrom(resp); err != nil || other.String() != o.String() {
			t.Errorf("change %#x: OTHER-ADDRESS %s (%v)", tt.change, other, err)
		}
		if err := mapped.GetFrom(resp); err != nil || mapped.String() != c.LocalAddr().String() {
			t.Errorf("change %#x: XOR-MAPPED-ADDRESS %s (%v)", tt.change, mapped, err)
		}
	}
}

func TestChangeRequestWithoutAlternate(t *testing.T) {
	leakcheck.Check(t)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := stunserver.New(stunserver.Config{Net: n, Primary: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteTo(request(t, 0x6).Raw, srv.Primary()); err != nil {
		t.Fatal(err)
	}
	resp, _ := read(t, c)
	var code stun.ErrorCodeAttribute
	if err := code.GetFrom(resp); err != nil || code.Code != stun.CodeUnknownAttribute {
		t.Errorf("got %v (%v), want 420", code, err)
	}
}

func request(t *testing.T, change byte) *stun.Message {
	t.Helper()
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest}
	if change != 0 {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrChangeRequest, Value: []byte{0, 0, 0, change}})
	}
	m, err := stun.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func read(t *testing.T, c net.PacketConn) (*stun.Message, *net.UDPAddr) {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	m := &stun.Message{Raw: buf[:n]}
	if err := m.Decode(); err != nil {
		t.Fatal(err)
	}
	return m, from.(*net.UDPAddr)
}
