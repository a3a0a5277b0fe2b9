package turn

import (
	"net"
	"testing"
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
