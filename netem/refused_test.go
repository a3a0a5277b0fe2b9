package netem

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// icmpUnreachable builds the ICMP destination unreachable (code) that
// from sends about quoted, an IPv4/UDP datagram.
func icmpUnreachable(from [4]byte, code byte, quoted []byte) []byte {
	p := make([]byte, 28+len(quoted))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8], p[9] = 64, 1
	copy(p[12:], from[:])
	copy(p[16:], quoted[12:16]) // back to the datagram's sender
	p[20], p[21] = 3, code
	copy(p[28:], quoted)
	return p
}

// The ICMP port unreachables a host sends say which of its ports had no
// socket and which datagram came there; nothing else is a refusal: an
// ICMP the host received about its own datagram, another code, another
// protocol, or a message cut short.
func TestRefusal(t *testing.T) {
	rtpHdr := []byte{0x80, 111, 0, 7, 0, 0, 0, 1, 0, 0, 0, 9, 0xde, 0xad}
	dgram := udpPacket(rtpHdr) // 10.0.1.2:5000 -> 198.51.100.10:3478
	host := [4]byte{198, 51, 100, 10}
	for _, tc := range []struct {
		name string
		pkt  []byte
		ok   bool
	}{
		{"port unreachable from the host", icmpUnreachable(host, 3, dgram), true},
		{"about the host's own datagram", icmpUnreachable([4]byte{10, 0, 1, 2}, 3, dgram), false},
		{"host unreachable", icmpUnreachable(host, 1, dgram), false},
		{"quote cut short", icmpUnreachable(host, 3, dgram)[:28+24], false},
		{"a UDP datagram", dgram, false},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := refusal(time.Unix(1, 0), tc.pkt)
			if ok != tc.ok {
				t.Fatalf("refusal %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if r.Local.String() != "198.51.100.10:3478" || r.Remote.String() != "10.0.1.2:5000" || string(r.Quoted) != string(rtpHdr) {
				t.Errorf("local %s remote %s quoted %x, want 198.51.100.10:3478, 10.0.1.2:5000, %x", r.Local, r.Remote, r.Quoted, rtpHdr)
			}
		})
	}
	// Through a capture: only ObserveRefused's function sees it.
	var got []Refusal
	var udp int
	c := ObserveRefused(Observe(nil, func(Packet) { udp++ }), func(r Refusal) { got = append(got, r) })
	c.IP(time.Unix(1, 0), dgram)
	c.IP(time.Unix(2, 0), icmpUnreachable(host, 3, dgram))
	if udp != 1 || len(got) != 1 || !got[0].Local.IP.Equal(net.IP(host[:])) {
		t.Errorf("observed %d datagrams and refusals %+v, want 1 and one on %v", udp, got, host)
	}
}
