package netem

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"
)

// Capture writes what crosses a host's access link as a pcap file
// (libpcap format, link type LINKTYPE_IPV4 = 228), openable in Wireshark
// and tshark: packets the host sends when it sends them, packets it
// receives once they have come through the downlink's impairments.
// IPv4 and UDP or TCP headers are made up from the socket addresses (the
// host's own, inside address; UDP checksum 0, which IPv4 allows; TCP
// checksum 0). Emulated TCP's segments are recorded as they leave the
// sender and as they reach the receiver, retransmissions included; acks
// are not packets on the emulated network and are not recorded.
type Capture struct {
	mu      sync.Mutex
	w       io.Writer // nil: observe only
	err     error
	id      uint16
	observe func(Packet)
	refused func(Refusal) // refused.go
	buf     []byte        // one record, reused (an io.Writer keeps nothing of p)
}

// Packet is one packet a capture saw, as Observe hands it over: UDP
// datagrams and TCP segments (TCP set) with their source and destination
// as recorded in the pcap. Payload is only valid during the call.
type Packet struct {
	At       time.Time
	Src, Dst net.Addr
	TCP      bool
	Payload  []byte
}

// Observe returns a capture that also hands every packet it records to
// fn; c nil gives one that only observes. It is the one place that knows
// what crossed a host's access link, for a pcap file and for analyses in
// the run (the runner's privacy section), so neither keeps a second
// capture.
func Observe(c *Capture, fn func(Packet)) *Capture {
	if c == nil {
		return &Capture{observe: fn}
	}
	if prev := c.observe; prev != nil { // observed twice: both see every packet
		c.observe = func(p Packet) { prev(p); fn(p) }
		return c
	}
	c.observe = fn
	return c
}

// pcap constants (https://www.tcpdump.org/manpages/pcap-savefile.5.html).
const (
	pcapMagic    = 0xa1b2c3d4
	pcapSnapLen  = 65535
	linkTypeIPv4 = 228
)

// NewCapture writes the pcap file header to w and returns the capture.
func NewCapture(w io.Writer) (*Capture, error) {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], pcapMagic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], pcapSnapLen)
	binary.LittleEndian.PutUint32(h[20:], linkTypeIPv4)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &Capture{w: w}, nil
}

// Err returns the first write error, if any; capturing stops after it.
func (c *Capture) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// TCP flags (RFC 9293 section 3.1).
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpPSH = 0x08
	tcpACK = 0x10
)

// packet records one UDP datagram from src to dst at time at.
func (c *Capture) packet(at time.Time, src, dst *net.UDPAddr, payload []byte) {
	if c == nil || src == nil || dst == nil {
		return
	}
	if c.observe != nil {
		c.observe(Packet{At: at, Src: src, Dst: dst, Payload: payload})
	}
	if c.w == nil {
		return
	}
	var udp [8]byte
	binary.BigEndian.PutUint16(udp[0:], uint16(src.Port))
	binary.BigEndian.PutUint16(udp[2:], uint16(dst.Port))
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	c.ip(at, src.IP, dst.IP, 17, udp[:], payload)
}

// segment records one TCP segment from src to dst at time at: seq and ack
// are the sequence and acknowledgement numbers (the initial sequence
// numbers are 0), flags the TCP flags.
func (c *Capture) segment(at time.Time, src, dst *net.TCPAddr, seq, ack uint64, flags byte, payload []byte) {
	if c == nil || src == nil || dst == nil {
		return
	}
	if c.observe != nil {
		c.observe(Packet{At: at, Src: src, Dst: dst, TCP: true, Payload: payload})
	}
	if c.w == nil {
		return
	}
	var tcp [20]byte
	binary.BigEndian.PutUint16(tcp[0:], uint16(src.Port))
	binary.BigEndian.PutUint16(tcp[2:], uint16(dst.Port))
	binary.BigEndian.PutUint32(tcp[4:], uint32(seq))
	binary.BigEndian.PutUint32(tcp[8:], uint32(ack))
	tcp[12] = 5 << 4 // data offset: 20 bytes, no options
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 65535) // window
	c.ip(at, src.IP, dst.IP, 6, tcp[:], payload)
}

// ip records one IPv4 packet carrying a transport header and payload.
// The transport checksum is left 0: tshark does not check it by default.
func (c *Capture) ip(at time.Time, srcIP, dstIP net.IP, proto byte, header, payload []byte) {
	s4, d4 := srcIP.To4(), dstIP.To4()
	if s4 == nil || d4 == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.id++
	total := 20 + len(header) + len(payload)
	if total > pcapSnapLen {
		return
	}
	if cap(c.buf) < 16+total {
		c.buf = make([]byte, 16+total)
	}
	buf := c.buf[:16+total]
	clear(buf[:36]) // record header and IP header: only some bytes are set
	us := at.UnixMicro()
	binary.LittleEndian.PutUint32(buf[0:], uint32(us/1e6))
	binary.LittleEndian.PutUint32(buf[4:], uint32(us%1e6))
	binary.LittleEndian.PutUint32(buf[8:], uint32(total))
	binary.LittleEndian.PutUint32(buf[12:], uint32(total))
	ip := buf[16:]
	ip[0] = 0x45 // IPv4, 20-byte header
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[4:], c.id)
	ip[8] = 64 // TTL
	ip[9] = proto
	copy(ip[12:16], s4)
	copy(ip[16:20], d4)
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip[:20]))
	copy(ip[20:], header)
	copy(ip[20+len(header):], payload)
	_, c.err = c.w.Write(buf)
}

// ipChecksum is the RFC 791 header checksum.
func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
