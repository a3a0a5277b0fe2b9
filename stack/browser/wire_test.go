package browser_test

import (
	"encoding/binary"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/netem"
)

// wire is the test's own recount of what crossed the pion client's access
// link, from rtclab's capture (netem.Observe): RTP headers (SRTP leaves
// them in clear) per SSRC with arrival times, and STUN transactions.
type wire struct {
	mu   sync.Mutex
	rtp  map[uint32][]analysis.Packet // by SSRC, in capture order
	stun map[[12]byte][]stunSeen      // by transaction ID
}

type stunSeen struct {
	at       time.Time
	response bool
	src      *net.UDPAddr
}

func newWire() *wire {
	return &wire{rtp: map[uint32][]analysis.Packet{}, stun: map[[12]byte][]stunSeen{}}
}

func (w *wire) observe(p netem.Packet) {
	b := p.Payload
	if p.TCP || len(b) < 20 {
		return
	}
	// A relayed packet travels in a TURN ChannelData message (RFC 8656
	// section 12.4): channel number 0x4000-0x4FFF, length, data.
	if b[0]&0xc0 == 0x40 {
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if 4+n > len(b) || n < 20 {
			return
		}
		b = b[4 : 4+n]
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	src, _ := p.Src.(*net.UDPAddr)
	switch {
	case b[0] < 2 && binary.BigEndian.Uint32(b[4:8]) == 0x2112A442: // STUN, RFC 8489 section 5
		typ := binary.BigEndian.Uint16(b[0:2])
		if typ != 0x0001 && typ != 0x0101 { // binding request, success response
			return
		}
		var id [12]byte
		copy(id[:], b[8:20])
		w.stun[id] = append(w.stun[id], stunSeen{at: p.At, response: typ == 0x0101, src: src})
	case b[0] >= 128 && b[0] < 192 && (b[1] < 192 || b[1] > 223): // RTP, not RTCP (RFC 5761 section 4)
		var h rtp.Header
		if _, err := h.Unmarshal(b); err != nil {
			return
		}
		w.rtp[h.SSRC] = append(w.rtp[h.SSRC], analysis.Packet{Seq: h.SequenceNumber, Timestamp: h.Timestamp, At: p.At})
	}
}

// stream returns the packets seen on ssrc.
func (w *wire) stream(ssrc uint32) []analysis.Packet {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]analysis.Packet(nil), w.rtp[ssrc]...)
}

// until returns the packets seen on ssrc up to at.
func (w *wire) until(ssrc uint32, at time.Time) []analysis.Packet {
	var out []analysis.Packet
	for _, p := range w.stream(ssrc) {
		if !p.At.After(at) {
			out = append(out, p)
		}
	}
	return out
}

// loss counts a stream's sequence numbers from the first to the highest
// seen (RFC 3550 appendix A.3, with 16-bit wrap) and how many of them
// never crossed the link.
func loss(ps []analysis.Packet) (expected, lost int) {
	if len(ps) == 0 {
		return 0, 0
	}
	seen := map[int64]bool{}
	var base, prev int64 = int64(ps[0].Seq), int64(ps[0].Seq)
	lo, hi := base, base
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

// rtts returns the round trips of the binding requests this host sent
// (mine tells its packets by their source; the request leaves and the
// answer arrives at this host's edge), sorted.
func (w *wire) rtts(mine func(*net.UDPAddr) bool) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []time.Duration
	for _, seen := range w.stun {
		var req, resp *stunSeen
		for i := range seen {
			s := &seen[i]
			if !s.response && s.src != nil && mine(s.src) && req == nil {
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
