package verify

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Datagram is one UDP datagram of a capture.
type Datagram struct {
	// At is the capture timestamp.
	At time.Time
	// Src and Dst are the IPv4 addresses and UDP ports.
	Src, Dst netip.AddrPort
	// Payload is the UDP payload.
	Payload []byte
}

// pcap link types this reader understands
// (https://www.tcpdump.org/linktypes.html).
const (
	linkEthernet = 1
	linkRaw      = 101
	linkIPv4     = 228
)

// ErrNotPcap is returned for a file that is not a libpcap capture.
var ErrNotPcap = errors.New("not a pcap file")

// ReadPcap reads every IPv4 UDP datagram of a libpcap file (microsecond
// or nanosecond timestamps, either byte order; link types Ethernet, raw
// IP and IPv4), and every STUN message and ChannelData message carried
// over TCP (TURN over TCP, RFC 8656 section 12.5), each as a datagram
// timed by the segment that completed it. Other packets are skipped. A truncated last record is an
// error: the capture was cut short.
func ReadPcap(r io.Reader) ([]Datagram, error) {
	var h [24]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrNotPcap, err)
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(h[:]) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("%w: magic %#x", ErrNotPcap, binary.LittleEndian.Uint32(h[:]))
	}
	link := bo.Uint32(h[20:])
	if link != linkEthernet && link != linkRaw && link != linkIPv4 {
		return nil, fmt.Errorf("pcap link type %d: only Ethernet (1), raw IP (101) and IPv4 (228) are read", link)
	}
	var out []Datagram
	tcp := tcpStreams{}
	var rec [16]byte
	for n := 1; ; n++ {
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("pcap record %d header: %w", n, err)
		}
		sec, frac, incl := bo.Uint32(rec[0:]), bo.Uint32(rec[4:]), bo.Uint32(rec[8:])
		if incl > 1<<18 {
			return out, fmt.Errorf("pcap record %d: length %d is not plausible", n, incl)
		}
		data := make([]byte, incl)
		if _, err := io.ReadFull(r, data); err != nil {
			return out, fmt.Errorf("pcap record %d: %w", n, err)
		}
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		at := time.Unix(int64(sec), ns).UTC()
		if link == linkEthernet {
			if len(data) < 14 || binary.BigEndian.Uint16(data[12:]) != 0x0800 {
				continue
			}
			data = data[14:]
		}
		if d, ok := parseIPv4UDP(data); ok {
			d.At = at
			out = append(out, d)
		} else if seg, ok := parseIPv4TCP(data); ok {
			out = append(out, tcp.add(at, seg)...)
		}
	}
}

// parseIPv4UDP takes the UDP datagram out of an IPv4 packet (RFC 791,
// RFC 768); fragments and other protocols are not datagrams.
func parseIPv4UDP(p []byte) (Datagram, bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != 17 {
		return Datagram{}, false
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:]))
	if ihl < 20 || total < ihl+8 || total > len(p) {
		return Datagram{}, false
	}
	if binary.BigEndian.Uint16(p[6:])&0x3fff != 0 { // fragment
		return Datagram{}, false
	}
	src, _ := netip.AddrFromSlice(p[12:16])
	dst, _ := netip.AddrFromSlice(p[16:20])
	u := p[ihl:total]
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < 8 || ulen > len(u) {
		return Datagram{}, false
	}
	return Datagram{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(u[2:])),
		Payload: u[8:ulen],
	}, true
}

// segment is one TCP segment (RFC 9293 section 3.1).
type segment struct {
	src, dst netip.AddrPort
	seq      uint32
	syn      bool
	payload  []byte
}

// parseIPv4TCP takes the TCP segment out of an IPv4 packet.
func parseIPv4TCP(p []byte) (segment, bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != 6 {
		return segment{}, false
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:]))
	if ihl < 20 || total < ihl+20 || total > len(p) || binary.BigEndian.Uint16(p[6:])&0x3fff != 0 {
		return segment{}, false
	}
	t := p[ihl:total]
	off := int(t[12]>>4) * 4
	if off < 20 || off > len(t) {
		return segment{}, false
	}
	src, _ := netip.AddrFromSlice(p[12:16])
	dst, _ := netip.AddrFromSlice(p[16:20])
	return segment{
		src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(t[0:])),
		dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(t[2:])),
		seq:     binary.BigEndian.Uint32(t[4:]),
		syn:     t[13]&0x02 != 0,
		payload: t[off:],
	}, true
}

// tcpStream reassembles one direction of a TCP connection.
type tcpStream struct {
	next    uint32
	started bool
	broken  bool // not TURN framing: nothing more is read
	buf     []byte
	pending map[uint32][]byte // segments that came before their turn
}

type tcpStreams map[[2]netip.AddrPort]*tcpStream

// add takes one segment in and returns the messages it completed.
// Retransmitted bytes are taken once.
func (ts tcpStreams) add(at time.Time, seg segment) []Datagram {
	k := [2]netip.AddrPort{seg.src, seg.dst}
	s := ts[k]
	if s == nil {
		s = &tcpStream{pending: map[uint32][]byte{}}
		ts[k] = s
	}
	if seg.syn {
		s.next, s.started = seg.seq+1, true
		return nil
	}
	if !s.started {
		s.next, s.started = seg.seq, true // the capture began mid-connection
	}
	if s.broken || len(seg.payload) == 0 {
		return nil
	}
	if d := int32(seg.seq - s.next); d > 0 {
		if len(s.pending) < 1024 {
			s.pending[seg.seq] = seg.payload
		}
		return nil
	} else if -d >= int32(len(seg.payload)) {
		return nil // all of it seen already
	} else {
		s.buf = append(s.buf, seg.payload[-d:]...)
		s.next += uint32(len(seg.payload)) + uint32(d)
	}
	for {
		p, ok := s.pending[s.next]
		if !ok {
			break
		}
		delete(s.pending, s.next)
		s.buf = append(s.buf, p...)
		s.next += uint32(len(p))
	}
	var out []Datagram
	for len(s.buf) >= 4 {
		var n int
		switch b := s.buf[0]; {
		case b >= 0x40 && b <= 0x4f: // ChannelData, padded to 4 bytes over TCP
			n = (4 + int(binary.BigEndian.Uint16(s.buf[2:])) + 3) &^ 3
		case b&0xc0 == 0 && len(s.buf) >= 20: // STUN: 20-byte header and its length
			n = 20 + int(binary.BigEndian.Uint16(s.buf[2:]))
		case b&0xc0 == 0:
			return out
		default:
			s.broken, s.buf = true, nil
			return out
		}
		if n > len(s.buf) {
			return out
		}
		msg := append([]byte(nil), s.buf[:n]...)
		s.buf = s.buf[n:]
		out = append(out, Datagram{At: at, Src: seg.src, Dst: seg.dst, Payload: msg})
	}
	return out
}
