package turn

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

func TestPeerAllowed(t *testing.T) {
	mapped := net.ParseIP("::ffff:198.51.100.7") // 16 bytes: an IPv6 XOR-PEER-ADDRESS
	tests := []struct {
		ip   net.IP
		want bool
	}{
		{net.IPv4(198, 51, 100, 7).To4(), true},
		{net.ParseIP("203.0.113.9").To4(), true},
		{net.ParseIP("2001:db8::1"), true},
		{net.ParseIP("127.0.0.1").To4(), false},
		{net.ParseIP("10.1.2.3").To4(), false},
		{net.ParseIP("172.16.0.1").To4(), false},
		{net.ParseIP("192.168.1.1").To4(), false},
		{net.ParseIP("169.254.1.1").To4(), false},
		{net.ParseIP("0.0.0.0").To4(), false},
		{net.ParseIP("0.1.2.3").To4(), false},
		{net.ParseIP("100.64.1.1").To4(), false},
		{net.ParseIP("224.0.0.1").To4(), false},
		{net.ParseIP("::1"), false},
		{net.ParseIP("::"), false},
		{net.ParseIP("fe80::1"), false},
		{net.ParseIP("fd00::1"), false},
		{mapped, false},
		{nil, false},
		// Special-purpose ranges the first policy let through.
		{net.ParseIP("255.255.255.255").To4(), false},
		{net.ParseIP("240.0.0.1").To4(), false},
		{net.ParseIP("198.18.0.1").To4(), false},
		{net.ParseIP("192.0.0.1").To4(), false},
		{net.ParseIP("64:ff9b::7f00:1"), false},
		{net.ParseIP("::127.0.0.1"), false},
		{net.ParseIP("2002:7f00:1::1"), false},
		{net.ParseIP("ff0e::1"), false},
		// Documentation ranges stay allowed: emulated hosts use them.
		{net.ParseIP("192.0.2.1").To4(), true},
		{net.ParseIP("2001:4860::1"), true},
	}
	for _, tt := range tests {
		if got := PeerAllowed(tt.ip); got != tt.want {
			t.Errorf("PeerAllowed(%v, len %d) = %v, want %v", tt.ip, len(tt.ip), got, tt.want)
		}
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New(Config{}) succeeded")
	}
}

func TestAllowingPeers(t *testing.T) {
	p := AllowingPeers(PeerAllowed, []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")})
	for _, tt := range []struct {
		ip   net.IP
		want bool
	}{
		{net.ParseIP("127.0.0.2").To4(), true},
		{net.ParseIP("127.0.0.1").To4(), false},
		{net.ParseIP("::ffff:127.0.0.2"), false}, // the mapped form is not the allowed address
		{net.ParseIP("198.51.100.7").To4(), true},
	} {
		if got := p(tt.ip); got != tt.want {
			t.Errorf("%v (len %d): %v, want %v", tt.ip, len(tt.ip), got, tt.want)
		}
	}
}

func TestPeerFamilyMatches(t *testing.T) {
	v4, v6 := net.ParseIP("203.0.113.1").To4(), net.ParseIP("2001:db8::1")
	for _, tt := range []struct {
		relay, peer net.IP
		want        bool
	}{
		{v4, net.ParseIP("198.51.100.7").To4(), true},
		{v4, net.ParseIP("2001:db8::2"), false},
		{v4, net.ParseIP("::ffff:198.51.100.7"), false}, // IPv6 family on the wire
		{v6, net.ParseIP("2001:db8::2"), true},
		{v6, net.ParseIP("198.51.100.7").To4(), false},
	} {
		if got := peerFamilyMatches(tt.relay, tt.peer); got != tt.want {
			t.Errorf("relay %v peer %v (len %d): %v, want %v", tt.relay, tt.peer, len(tt.peer), got, tt.want)
		}
	}
}

// TestFixerAllocationsFull: once the table overflowed with live
// allocations the fixer stops answering 437 for clients it does not know
// (pion decides; a load test's allocations must never get a false 437),
// and expired entries make room again.
func TestFixerAllocationsFull(t *testing.T) {
	f := newFixer(net.ParseIP("203.0.113.1").To4(), nil)
	f.allocations = map[string]time.Time{}
	for i := range maxTracked {
		f.allocations[fmt.Sprint("udp/198.51.100.1:", i)] = time.Now().Add(time.Hour)
	}
	stranger := &net.UDPAddr{IP: net.ParseIP("198.51.100.2"), Port: 9}
	if f.allocated(stranger) {
		t.Fatal("an unknown client counted as allocated before the table overflowed")
	}
	ok, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse),
		stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 2, 88}})
	f.track(ok, &net.UDPAddr{IP: net.ParseIP("198.51.100.3"), Port: 9})
	if !f.allocated(stranger) {
		t.Error("with a full table an unknown client must be left to pion")
	}
	for k := range f.allocations {
		f.allocations[k] = time.Now().Add(-time.Second) // all expired
	}
	third := &net.UDPAddr{IP: net.ParseIP("198.51.100.4"), Port: 9}
	f.track(ok, third)
	if _, tracked := f.allocations[addrKey(third)]; !tracked || len(f.allocations) != 1 {
		t.Errorf("expired entries did not make room: %d entries", len(f.allocations))
	}
	if !f.allocated(stranger) {
		t.Error("after an overflow, absences must stay unknown")
	}
}
