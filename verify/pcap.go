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
// IP and IPv4). Other packets are skipped. A truncated last record is an
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
