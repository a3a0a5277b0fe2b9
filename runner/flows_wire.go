package runner

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"

	"github.com/rtclab/rtclab/netem"
)

// wireTap counts, per flow, the IP bytes its sender puts on the network:
// every UDP datagram of the flow's 5-tuple from the sender (RTP with its
// SRTP tag, the sender's SRTCP, consent checks), with the 20-byte IPv4
// and 8-byte UDP headers, as the bottleneck counts its capacity
// (docs/netem.md). It sees what the host's capture sees (netem.Observe),
// so a pcap of the run recounts it. A 5-tuple is tied to its flow by the
// first RTP packet carrying the flow's SSRC (RFC 3550 section 5.1; SRTP
// leaves the header in the clear, RFC 3711 section 3.1) from the flow's
// sender's address: the acks of a tcp flow carry its SSRC the other way.
//
// RFC 8868 section 3 compares sending rates with the bottleneck's
// capacity (item 10, utilization; items 8 and 9 and RFC 8867 section 4.1
// judge a rate against the flow's share of it): both sides have to be in
// the link's units, and a flow's RTP bytes leave out 28 to 44 bytes of
// every packet (3 % of a video flow, a third of 20 kbit/s audio).
type wireTap struct {
	mu     sync.Mutex
	ssrc   map[uint32]*flowState
	tuples map[tuple]*flowState
	// from is each flow's sender's own address.
	from map[*flowState]netip.Addr
}

type tuple struct{ src, dst netip.AddrPort }

// add lets the tap find st's packets by their SSRC and its sender's
// address.
func (w *wireTap) add(ssrc uint32, from net.IP, st *flowState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ssrc == nil {
		w.ssrc, w.tuples, w.from = map[uint32]*flowState{}, map[tuple]*flowState{}, map[*flowState]netip.Addr{}
	}
	w.ssrc[ssrc] = st
	a, _ := netip.AddrFromSlice(from)
	w.from[st] = a.Unmap()
}

// observe takes one packet of host's capture: one it sent, or one it
// received through its downlink; the flow's sender counts what it sent,
// its receiver what arrived.
func (w *wireTap) observe(host string, p netem.Packet) {
	if p.TCP {
		return
	}
	src, ok1 := p.Src.(*net.UDPAddr)
	dst, ok2 := p.Dst.(*net.UDPAddr)
	if !ok1 || !ok2 {
		return
	}
	k := tuple{src.AddrPort(), dst.AddrPort()}
	w.mu.Lock()
	st := w.tuples[k]
	if st == nil {
		if ssrc, ok := rtpSSRC(p.Payload); ok && w.ssrc[ssrc] != nil && w.from[w.ssrc[ssrc]] == k.src.Addr().Unmap() {
			st = w.ssrc[ssrc]
			w.tuples[k] = st
		}
	}
	w.mu.Unlock()
	switch {
	case st == nil:
	case st.in.From == host:
		st.wireBytes.Add(uint64(len(p.Payload) + udpIPHeader))
	case st.in.To == host:
		st.wireRecvBytes.Add(uint64(len(p.Payload) + udpIPHeader))
	}
}

// rtpSSRC reads the sender's SSRC of an RTP or RTCP packet: the first
// byte of both is 128..191 (RFC 7983 section 7, version 2), and an RTCP
// packet type 192..223 (RFC 5761 section 4) puts it at bytes 4..7, RTP
// at 8..11.
func rtpSSRC(b []byte) (uint32, bool) {
	if len(b) < 12 || b[0] < 128 || b[0] > 191 {
		return 0, false
	}
	if b[1] >= 192 && b[1] <= 223 {
		return binary.BigEndian.Uint32(b[4:]), true
	}
	return binary.BigEndian.Uint32(b[8:]), true
}
