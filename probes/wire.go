package probes

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/rtclab/rtclab/analysis"
)

// Wire recounts what crossed one host's access link from its capture
// (netem.Observe hands each packet to Add): the RTP headers of every
// stream (SRTP leaves them in clear; relayed packets are unwrapped from
// TURN ChannelData) with their capture times, and the STUN Binding
// transactions. It is the independent side of a cross-check against a
// client's own statistics (a browser's getStats). Safe for concurrent use.
type Wire struct {
	mu   sync.Mutex
	rtp  map[uint32][]analysis.Packet // by SSRC, in capture order
	stun map[[12]byte][]stunSeen      // by transaction ID
	// closed are the host's ports it refused a datagram on (Refused)
	// and has not sent from since; refused counts, by SSRC, the RTP
	// packets that arrived at one (on the wire, received by no one).
	closed  map[netip.AddrPort]bool
	refused map[uint32]int
}

type stunSeen struct {
	at       time.Time
	response bool
	src, dst *net.UDPAddr
}

// NewWire returns an empty recount.
func NewWire() *Wire {
	return &Wire{rtp: map[uint32][]analysis.Packet{}, stun: map[[12]byte][]stunSeen{},
		closed: map[netip.AddrPort]bool{}, refused: map[uint32]int{}}
}

// Refused records that the host answered a datagram from remote to its
// port local with an ICMP port unreachable (netem.ObserveRefused): no
// socket was bound there, so that datagram and every later one to the
// port, until the host sends from it again (a socket bound there anew),
// reached no application. quoted is the start of the datagram's payload
// the ICMP message carries: when it is the RTP packet the capture
// already counted as arrived, it is taken back. ICMP errors are rate
// limited (Linux: a burst of a few, then one a second), so the port's
// state, not each message, decides.
func (w *Wire) Refused(local, remote *net.UDPAddr, quoted []byte) {
	port, ok := addrPort(local)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed[port] {
		w.closed[port] = true
		var h rtp.Header
		if len(quoted) >= 12 && quoted[0] >= 128 && quoted[0] < 192 && (quoted[1] < 192 || quoted[1] > 223) {
			if _, err := h.Unmarshal(quoted); err == nil {
				ps := w.rtp[h.SSRC]
				for i := len(ps) - 1; i >= 0 && i >= len(ps)-16; i-- { // the datagram just before
					if ps[i].Seq == h.SequenceNumber {
						w.rtp[h.SSRC] = append(ps[:i], ps[i+1:]...)
						w.refused[h.SSRC]++
						break
					}
				}
			}
		}
	}
}

// RefusedPackets returns how many RTP packets of ssrc reached a port the
// host had closed (Refused): on the wire, and lost to the receiver.
func (w *Wire) RefusedPackets(ssrc uint32) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refused[ssrc]
}

func addrPort(a *net.UDPAddr) (netip.AddrPort, bool) {
	if a == nil {
		return netip.AddrPort{}, false
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.IsValid()
}

// Add looks at one UDP datagram the capture recorded at at, sent from
// src to dst.
func (w *Wire) Add(at time.Time, src, dst net.Addr, b []byte) {
	if len(b) < 20 {
		return
	}
	// A relayed packet travels in a TURN ChannelData message (RFC 8656
	// section 12.4): channel number 0x4000-0x4FFF, length, data; or,
	// before a channel is bound, in a Send or Data indication (section
	// 11), whose DATA attribute holds it.
	if b[0]&0xc0 == 0x40 {
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if 4+n > len(b) || n < 20 {
			return
		}
		b = b[4 : 4+n]
	} else if d, ok := indicationData(b); ok {
		if len(d) < 20 {
			return
		}
		b = d
	}
	ua, _ := src.(*net.UDPAddr)
	da, _ := dst.(*net.UDPAddr)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.closed) > 0 {
		if p, ok := addrPort(ua); ok && w.closed[p] {
			delete(w.closed, p) // the host sends from it: a socket is bound there again
		}
		if p, ok := addrPort(da); ok && w.closed[p] {
			if b[0] >= 128 && b[0] < 192 && (b[1] < 192 || b[1] > 223) {
				var h rtp.Header
				if _, err := h.Unmarshal(b); err == nil {
					w.refused[h.SSRC]++
				}
			}
			return
		}
	}
	switch {
	case b[0] < 2 && binary.BigEndian.Uint32(b[4:8]) == 0x2112A442: // STUN, RFC 8489 section 5
		typ := binary.BigEndian.Uint16(b[0:2])
		if typ != 0x0001 && typ != 0x0101 { // Binding request, success response
			return
		}
		var id [12]byte
		copy(id[:], b[8:20])
		w.stun[id] = append(w.stun[id], stunSeen{at: at, response: typ == 0x0101, src: ua, dst: da})
	case b[0] >= 128 && b[0] < 192 && (b[1] < 192 || b[1] > 223): // RTP, not RTCP (RFC 5761 section 4)
		var h rtp.Header
		if _, err := h.Unmarshal(b); err != nil {
			return
		}
		// The P bit (RFC 3550 section 5.1) marks a padding probe: under
		// SRTP its length is encrypted, so a padded packet counts as a
		// probe (a sender pads only those); Size stays 0 for the same
		// reason (the payload's length is not readable).
		w.rtp[h.SSRC] = append(w.rtp[h.SSRC], analysis.Packet{Seq: h.SequenceNumber, Timestamp: h.Timestamp, At: at, Padding: h.Padding})
	}
}

// indicationData returns the DATA attribute (0x0013) of a TURN Send
// (0x0016) or Data (0x0017) indication, RFC 8656 section 11; false for
// any other message.
func indicationData(b []byte) ([]byte, bool) {
	if len(b) < 20 || binary.BigEndian.Uint32(b[4:8]) != 0x2112A442 {
		return nil, false
	}
	if typ := binary.BigEndian.Uint16(b[0:2]); typ != 0x0016 && typ != 0x0017 {
		return nil, false
	}
	attrs := b[20:]
	if n := int(binary.BigEndian.Uint16(b[2:4])); n <= len(attrs) {
		attrs = attrs[:n]
	}
	for len(attrs) >= 4 {
		t, n := binary.BigEndian.Uint16(attrs[0:2]), int(binary.BigEndian.Uint16(attrs[2:4]))
		if 4+n > len(attrs) {
			return nil, false
		}
		if t == 0x0013 {
			return attrs[4 : 4+n], true
		}
		// The value is padded to 4 bytes (RFC 8489 section 14); a
		// message cut inside the padding has nothing after it.
		next := 4 + (n+3)&^3
		if next > len(attrs) {
			return nil, false
		}
		attrs = attrs[next:]
	}
	return nil, false
}

// Stream returns the packets seen on ssrc up to at (every one when at
// is zero).
func (w *Wire) Stream(ssrc uint32, at time.Time) []analysis.Packet {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []analysis.Packet
	for _, p := range w.rtp[ssrc] {
		if at.IsZero() || !p.At.After(at) {
			out = append(out, p)
		}
	}
	return out
}

// SeqLoss counts a stream's sequence numbers from the lowest to the
// highest seen (RFC 3550 appendix A.3, extended over 16-bit wraps) and
// how many of them the capture never saw.
func SeqLoss(ps []analysis.Packet) (expected, lost int) {
	if len(ps) == 0 {
		return 0, 0
	}
	seen := map[int64]bool{}
	prev := int64(ps[0].Seq)
	lo, hi := prev, prev
	for _, p := range ps {
		// Extend to the candidate nearest the previous one.
		s := prev&^0xffff | int64(p.Seq)
		if s-prev > 0x8000 {
			s -= 0x10000
		} else if prev-s > 0x8000 {
			s += 0x10000
		}
		prev = s
		seen[s] = true
		lo, hi = min(lo, s), max(hi, s)
	}
	expected = int(hi - lo + 1)
	return expected, expected - len(seen)
}

// RTTs returns the round trips of the Binding requests the host itself
// sent (mine picks them by source and destination: the host's own, on
// the path wanted; the request leaves and the answer arrives at the
// host's edge), shortest first.
func (w *Wire) RTTs(mine func(src, dst *net.UDPAddr) bool) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []time.Duration
	for _, seen := range w.stun {
		var req, resp *stunSeen
		for i := range seen {
			s := &seen[i]
			if !s.response && s.src != nil && s.dst != nil && mine(s.src, s.dst) && req == nil {
				req = s
			}
			if s.response && resp == nil {
				resp = s
			}
		}
		if req != nil && resp != nil && resp.at.After(req.at) {
			out = append(out, resp.at.Sub(req.at))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
