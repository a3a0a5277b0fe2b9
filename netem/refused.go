package netem

import (
	"encoding/binary"
	"net"
	"time"
)

// Refusal is an ICMP port unreachable (RFC 792 type 3, code 3; RFC 1122
// section 3.2.2.1) that a host sent about a UDP datagram which reached
// one of its ports with no socket bound: the datagram was on the wire at
// the host's link but no application received it. Local is the port
// refused (the datagram's destination), Remote the datagram's sender,
// and Quoted the start of its payload as the ICMP message carries it
// (RFC 1812 section 4.3.2.3: as much as fits; Linux quotes up to 576
// bytes in all, enough for an RTP header). Only the kernel backend sees
// them: the in-process network refuses nothing.
type Refusal struct {
	At            time.Time
	Local, Remote *net.UDPAddr
	Quoted        []byte
}

// ObserveRefused returns a capture that also hands every ICMP port
// unreachable the host sends to fn (c nil: one that only observes). A
// host's ports close mid-call (an ICE restart that gathers new sockets
// closes the old ones), and what still arrives there is lost to the
// receiver though the capture of its link shows it.
func ObserveRefused(c *Capture, fn func(Refusal)) *Capture {
	if c == nil {
		c = &Capture{}
	}
	if prev := c.refused; prev != nil {
		c.refused = func(r Refusal) { prev(r); fn(r) }
		return c
	}
	c.refused = fn
	return c
}

// refusal reads pkt as an ICMP port unreachable sent by the host that
// refused the quoted UDP datagram (the ICMP message's source is the
// datagram's destination), and false for any other packet.
func refusal(at time.Time, pkt []byte) (Refusal, bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 || pkt[9] != 1 {
		return Refusal{}, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	total := min(int(binary.BigEndian.Uint16(pkt[2:4])), len(pkt))
	if ihl < 20 || total < ihl+8 {
		return Refusal{}, false
	}
	icmp := pkt[ihl:total]
	if icmp[0] != 3 || icmp[1] != 3 { // destination unreachable: port
		return Refusal{}, false
	}
	q := icmp[8:] // the datagram's IP header, then at least 8 bytes of it
	if len(q) < 20 || q[0]>>4 != 4 || q[9] != 17 {
		return Refusal{}, false
	}
	qihl := int(q[0]&0x0f) * 4
	if qihl < 20 || len(q) < qihl+8 {
		return Refusal{}, false
	}
	src, dst := net.IP(append([]byte(nil), q[12:16]...)), net.IP(append([]byte(nil), q[16:20]...))
	if !dst.Equal(net.IP(pkt[12:16])) { // not the host that refused it
		return Refusal{}, false
	}
	udp := q[qihl:]
	return Refusal{
		At:     at,
		Local:  &net.UDPAddr{IP: dst, Port: int(binary.BigEndian.Uint16(udp[2:]))},
		Remote: &net.UDPAddr{IP: src, Port: int(binary.BigEndian.Uint16(udp[0:]))},
		Quoted: append([]byte(nil), udp[8:]...),
	}, true
}
