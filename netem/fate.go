package netem

import (
	"encoding/binary"
	"hash/fnv"
)

// fates decides each packet's random fate from a hash of the seed, the
// link and the packet's identity within the link, instead of drawing from
// one generator in arrival order. Packets that different goroutines send at
// the same instant (audio and video on one socket) arrive in either order,
// and a sequential generator would then give their fates to each other;
// with identities, the n-th packet of a stream meets the same fate in every
// run with the same seed.
type fates struct {
	seed, link uint64
	counters   map[uint64]uint64
	streams    map[streamKey]*stream
	perPT      map[byte]uint64 // streams seen per payload type
	// recent counts recent identities, so that a byte-identical resend
	// (pion sends every retry of a packet as the same RTX packet) meets a
	// fate of its own instead of repeating the first one's (recent.go).
	recent recentSet
}

type identityKey struct{ class, index uint64 }

// recentIdentities bounds recent: a resend comes within seconds, long
// before this many other packets.
const recentIdentities = 8192

type streamKey struct {
	ssrc uint32
	pt   byte
}

type stream struct {
	ordinal uint64
	first   uint16
	cycles  uint64
	last    uint16
}

func newFates(seed uint64, link string) *fates {
	h := fnv.New64a()
	h.Write([]byte(link))
	return &fates{seed: seed, link: h.Sum64(), counters: map[uint64]uint64{}, streams: map[streamKey]*stream{},
		perPT: map[byte]uint64{}}
}

// occurrence returns how many times this identity was offered before
// (0 the first time).
func (f *fates) occurrence(class, index uint64) uint64 {
	return f.recent.offer(identityKey{class, index})
}

// Packet classes, from the first byte as RFC 7983 section 7 demultiplexes
// STUN, DTLS and RTP/RTCP on one port.
const (
	classSTUN  = 1
	classDTLS  = 2
	classOther = 3
	classRTCP  = 0x100 // | RTCP packet type
	classRTP   = 0x200 // | payload type, | stream ordinal << 8
	classTCP   = 0x400 // | a hash of the connection's direction << 12; index: the stream offset
)

// identity returns the packet's class and its index within the class.
func (f *fates) identity(p []byte) (class, index uint64) {
	if len(p) == 0 {
		return f.next(classOther)
	}
	switch b := p[0]; {
	case b >= 64 && b <= 79 && len(p) > 4:
		// TURN ChannelData (RFC 8656 section 12.4): judge what it carries,
		// per channel, so relayed media keeps its identity.
		ch := uint64(binary.BigEndian.Uint16(p[0:2]))
		class, index := f.identity(p[4:])
		return class | ch<<32, index
	case b <= 3:
		return f.next(classSTUN)
	case b >= 20 && b <= 63:
		return f.next(classDTLS)
	case b >= 128 && b <= 191 && len(p) >= 12:
		pt := p[1]
		if pt >= 192 && pt <= 223 { // RTCP (RFC 5761 section 4)
			// Counted per packet type and feedback format (RFC 4585
			// section 6.1), not per SSRC: SSRCs are random in every run.
			return f.next(classRTCP | uint64(pt) | uint64(p[0]&0x1f)<<8)
		}
		pt &= 0x7f
		k := streamKey{ssrc: binary.BigEndian.Uint32(p[8:12]), pt: pt}
		seq := binary.BigEndian.Uint16(p[2:4])
		s := f.streams[k]
		if s == nil {
			s = &stream{ordinal: f.perPT[pt], first: seq, last: seq}
			f.perPT[pt]++
			f.streams[k] = s
		}
		// Unwrap the 16-bit sequence number (RFC 3550 appendix A.1).
		d := int32(seq) - int32(s.last)
		switch {
		case d < -(1 << 15):
			s.cycles += 1 << 16
			s.last = seq
		case d > 0 && d < 1<<15:
			s.last = seq
		}
		ext := s.cycles + uint64(seq)
		if d > 1<<15 && ext >= 1<<16 { // late, from before the wrap
			ext -= 1 << 16
		}
		return classRTP | uint64(pt) | s.ordinal<<8, ext - uint64(s.first)
	}
	return f.next(classOther)
}

func (f *fates) next(class uint64) (uint64, uint64) {
	i := f.counters[class]
	f.counters[class] = i + 1
	return class, i
}

// uniform returns a number in [0, 1) for the n-th draw about a packet.
func (f *fates) uniform(class, index, n uint64) float64 {
	x := f.seed ^ f.link*0x9E3779B97F4A7C15 ^ class*0xBF58476D1CE4E5B9 ^ index*0x94D049BB133111EB ^ n*0xD6E8FEB86659FD93
	// splitmix64 finaliser
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
