package netem

import (
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"github.com/pion/transport/v3"
)

// This file lets another network backend (package netem/kernel, real
// network namespaces) reuse what this package is: its access link (loss,
// bursts, delay, jitter, reordering, rate, traces, the bottleneck buffer,
// duplication; link.go, fate.go, batch.go), its address plan and its
// Host, so that a scenario means the same on both backends. It only
// adapts; the link code is the one the in-process backend runs.

// Link is one direction of an access link that carries raw IPv4 packets
// (RFC 791) instead of this package's datagrams: the kernel backend reads
// them from a TUN device and writes what comes out into another.
type Link struct {
	l *link
}

// NewLink starts one direction of host's access link. Fates are keyed
// by the seed, the host and the direction, as in New.
func NewLink(seed int64, host string, dir Direction, imp Impairment) (*Link, error) {
	if err := imp.Validate(); err != nil {
		return nil, err
	}
	return &Link{l: newLink(seed, host, dir, imp, newBufPool())}, nil
}

// SendIP offers one IPv4 packet to the link; the link owns pkt from now
// on. deliver is called with it when it comes out (twice if duplicated),
// from the link's goroutine, and never when it is dropped. A packet's
// fate is decided from its transport payload (fate.go: RTP by stream and
// sequence number, STUN, DTLS, TURN ChannelData), as for a socket's
// datagram, so that the same call meets the same fates on both backends.
func (k *Link) SendIP(pkt []byte, deliver func(pkt []byte)) {
	payload := ipPayload(pkt)
	k.l.mu.Lock()
	defer k.l.mu.Unlock()
	k.l.enqueue(offer{data: payload, wire: len(pkt), key: offerKey(payload),
		out: delivery{segment: func(time.Duration) { deliver(pkt) }}})
}

// Set changes the impairment for packets offered from now on.
func (k *Link) Set(imp Impairment) error {
	if err := imp.Validate(); err != nil {
		return err
	}
	k.l.set(imp)
	return nil
}

// Stats returns what the link did so far.
func (k *Link) Stats() LinkStats { return k.l.snapshot() }

// Close stops delivery; packets still in flight are dropped.
func (k *Link) Close() { k.l.close() }

// ipPayload returns the UDP or TCP payload of an IPv4 packet, or an empty
// (non-nil: the fate comes from what it is) slice for anything else.
func ipPayload(pkt []byte) []byte {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		return pkt[:0]
	}
	ihl := int(pkt[0]&0x0f) * 4
	total := min(int(binary.BigEndian.Uint16(pkt[2:4])), len(pkt))
	if ihl < 20 || total < ihl {
		return pkt[:0]
	}
	l4 := pkt[ihl:total]
	switch pkt[9] {
	case 17: // UDP, RFC 768
		if len(l4) >= 8 {
			return l4[8:]
		}
	case 6: // TCP, RFC 9293 section 3.1
		if len(l4) >= 20 {
			if off := int(l4[12]>>4) * 4; off >= 20 && off <= len(l4) {
				return l4[off:]
			}
		}
	}
	return pkt[:0]
}

// ExternalHost declares a host whose sockets another backend provides.
type ExternalHost struct {
	Name      string
	NAT       NAT
	Behaviour string
	IP        net.IP
	PublicIP  net.IP
	// Net creates the host's sockets.
	Net transport.Net
	// Up and Down are its access link; Host.Stats and Host.SetImpairment
	// (timeline schedules) act on them.
	Up, Down *Link
	// Rebind, when set, is what Host.Rebind does (the kernel backend's
	// NAT rebinding); nil: Host.Rebind is unsupported.
	Rebind func() (int, error)
}

// NewExternalHost returns a Host for another backend's host: Stats and
// SetImpairment work on its links; Rebind calls e.Rebind.
func NewExternalHost(e ExternalHost) *Host {
	h := &Host{Name: e.Name, NAT: e.NAT, Behaviour: e.Behaviour, IP: e.IP, PublicIP: e.PublicIP, Net: e.Net, rebind: e.Rebind}
	if e.Up != nil {
		h.up = e.Up.l
	}
	if e.Down != nil {
		h.down = e.Down.l
	}
	return h
}

// Addresses is the address plan of one network (the same on every
// backend): where servers, hosts and their NATs live.
type Addresses struct{}

// ServerIP is the address of the k-th server (Config.Servers, from 0).
func (Addresses) ServerIP(k int) net.IP { return nthIP(serverNet, 10+k) }

// PublicIP is the i-th host's public address: its NAT's outside address,
// or its own when it has no NAT.
func (Addresses) PublicIP(i int) net.IP { return nthIP(publicNet, 10+i) }

// PrivateNet is the i-th host's LAN behind its home NAT, and the host's
// and NAT's addresses on it.
func (Addresses) PrivateNet(i int) (cidr string, host, nat net.IP) {
	cidr = fmt.Sprintf(privateFmt, i+1)
	return cidr, nthIP(cidr, 2), nthIP(cidr, 1)
}

// SharedNet is the network between the i-th host's home NAT and its
// carrier-grade NAT, and the home NAT's and the CGN's addresses on it.
func (Addresses) SharedNet(i int) (cidr string, home, cgn net.IP) {
	cidr = fmt.Sprintf(sharedFmt, i+1)
	return cidr, nthIP(cidr, 2), nthIP(cidr, 1)
}

// Resolve returns the home NAT, the carrier-grade NAT and the firewall of
// a host as New builds them (nil: none), validated.
func (hc HostConfig) Resolve() (home, cgn *NATConfig, fw Firewall, err error) {
	home, cgn, fw, err = hc.NAT.config()
	if err != nil {
		return nil, nil, fw, err
	}
	if hc.HomeNAT != nil {
		home = hc.HomeNAT
	}
	if hc.CGN != nil {
		cgn = hc.CGN
	}
	if hc.Firewall != nil {
		fw = *hc.Firewall
	}
	if cgn != nil && home == nil {
		return nil, nil, fw, fmt.Errorf("%w: a carrier-grade NAT needs a home NAT behind it", ErrConfig)
	}
	for _, c := range []*NATConfig{home, cgn} {
		if c != nil {
			if err := c.validate(); err != nil {
				return nil, nil, fw, err
			}
		}
	}
	for _, imp := range []Impairment{hc.Uplink, hc.Downlink} {
		if err := imp.Validate(); err != nil {
			return nil, nil, fw, err
		}
	}
	return home, cgn, fw, nil
}

// Describe says in words what stands in front of a host, as Host.Behaviour.
func Describe(home, cgn *NATConfig, fw Firewall) string { return describe(home, cgn, fw) }

// IP records one whole IPv4 packet (the kernel backend's TUN read path),
// and hands UDP datagrams and TCP segments to Observe's function, ICMP
// port unreachables the host sent to ObserveRefused's.
func (c *Capture) IP(at time.Time, pkt []byte) {
	if c == nil || len(pkt) < 20 || pkt[0]>>4 != 4 {
		return
	}
	if c.refused != nil {
		if r, ok := refusal(at, pkt); ok {
			c.refused(r)
		}
	}
	if c.observe != nil {
		ihl := int(pkt[0]&0x0f) * 4
		if len(pkt) >= ihl+4 && (pkt[9] == 17 || pkt[9] == 6) {
			src, dst := net.IP(append([]byte(nil), pkt[12:16]...)), net.IP(append([]byte(nil), pkt[16:20]...))
			sp, dp := int(binary.BigEndian.Uint16(pkt[ihl:])), int(binary.BigEndian.Uint16(pkt[ihl+2:]))
			p := Packet{At: at, Payload: ipPayload(pkt)}
			if pkt[9] == 17 {
				p.Src, p.Dst = &net.UDPAddr{IP: src, Port: sp}, &net.UDPAddr{IP: dst, Port: dp}
			} else {
				p.TCP = true
				p.Src, p.Dst = &net.TCPAddr{IP: src, Port: sp}, &net.TCPAddr{IP: dst, Port: dp}
			}
			c.observe(p)
		}
	}
	if c.w == nil || len(pkt) > pcapSnapLen {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	if cap(c.buf) < 16+len(pkt) {
		c.buf = make([]byte, 16+len(pkt))
	}
	buf := c.buf[:16+len(pkt)]
	us := at.UnixMicro()
	binary.LittleEndian.PutUint32(buf[0:], uint32(us/1e6))
	binary.LittleEndian.PutUint32(buf[4:], uint32(us%1e6))
	binary.LittleEndian.PutUint32(buf[8:], uint32(len(pkt)))
	binary.LittleEndian.PutUint32(buf[12:], uint32(len(pkt)))
	copy(buf[16:], pkt)
	_, c.err = c.w.Write(buf)
}
