package netem

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// udpPacket builds an IPv4/UDP packet carrying payload.
func udpPacket(payload []byte) []byte {
	p := make([]byte, 28+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8], p[9] = 64, 17
	copy(p[12:], []byte{10, 0, 1, 2})
	copy(p[16:], []byte{198, 51, 100, 10})
	binary.BigEndian.PutUint16(p[20:], 5000)
	binary.BigEndian.PutUint16(p[22:], 3478)
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload)
	return p
}

// FuzzIPPacket feeds raw packets, as the kernel backend reads them from a
// TUN device, to the parts that read their headers: the payload that
// decides a packet's fate, and the capture with its ICMP refusals.
// Neither may panic, and a payload always lies inside the packet.
func FuzzIPPacket(f *testing.F) {
	f.Add(udpPacket([]byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42}))
	f.Add(udpPacket([]byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2}))
	f.Add([]byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 1, 2, 1, 2, 3, 4, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0, 0, 0, 0, 0, 0})
	f.Add(icmpUnreachable([4]byte{198, 51, 100, 10}, 3, udpPacket([]byte{0x80, 111, 0, 7, 0, 0, 0, 1, 0, 0, 0, 9})))
	f.Add([]byte{0x46, 0, 0, 10})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		p := ipPayload(pkt)
		if p == nil {
			t.Fatal("nil payload: a fate needs a non-nil slice")
		}
		if len(p) > 0 && !bytes.Contains(pkt, p) {
			t.Fatalf("payload %x is not inside the packet", p)
		}
		var buf bytes.Buffer
		c, err := NewCapture(&buf)
		if err != nil {
			t.Fatal(err)
		}
		c = ObserveRefused(Observe(c, func(Packet) {}), func(r Refusal) {
			if r.Local == nil || r.Remote == nil {
				t.Fatalf("a refusal without its addresses: %+v", r)
			}
		})
		c.IP(time.Unix(1, 0), pkt)
		if c.Err() != nil {
			t.Fatal(c.Err())
		}
		newFates(1, "fuzz").identity(p) // what the link does with it
	})
}
