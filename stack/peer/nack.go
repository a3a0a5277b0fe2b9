package peer

import (
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/rtclab/rtclab/seqnum"
)

// NACK repair (RFC 4585 section 6.2.1, retransmission as RTX, RFC 4588),
// sending each lost packet again at most once per round trip, as
// libwebrtc does (modules/video_coding/nack_requester.cc asks again only
// an RTT after the last request; its packet history resends a packet only
// an RTT after the last resend).
//
// pion's NACK generator cannot: RTX arrives on its own SSRC and pion folds
// it back into the track above the interceptors, so the generator never
// learns that a packet was repaired and asks for it on every tick until
// its retries run out, and pion's responder answers every request. Each
// repaired packet crossed the wire NACKRetries times (quickstart: 224 RTX
// packets for 56 repairs; issue #10 item 5).
//
// nackRepair is one interceptor per PeerConnection doing four things:
//   - it measures the round-trip time from the report blocks of incoming
//     RTCP (RFC 3550 section 6.4.1: now - LSR - DLSR);
//   - as a receiver it tracks missing sequence numbers per media stream,
//     takes retransmissions on RTX streams (their payload starts with the
//     original sequence number, RFC 4588 section 4) as arrivals, and every
//     NACK interval (peer.go) asks for each packet missing, again only when an RTT
//     has passed since it last asked, at most NACKRetries times;
//   - as a sender it strips from incoming NACKs every packet already asked
//     for less than an RTT ago, every packet sent longer than
//     max(1 s, 3 RTT) ago (history.go), and every padding packet it sent
//     (IsPadding: an SFU's bandwidth probe carries no media; repairing
//     one only spends the bandwidth it measured), before pion's responder
//     (registered after it) resends them;
//   - as a sender it numbers the responder's retransmissions on each RTX
//     stream one after another, as they are sent (rtxRenumber).

// defaultRTT is the round trip assumed before one is measured (a
// receive-only endpoint never measures one): libwebrtc's default.
const defaultRTT = 100 * time.Millisecond

// maxProbes bounds the probe sequence numbers remembered per sent stream;
// pion's responder keeps 1024 packets, so an older probe cannot be resent.
const maxProbes = 1024

// maxMissing bounds the missing packets tracked per stream; the oldest
// are given up first.
const maxMissing = 1000

// rtxPayloadTypes are the payload types of the RTX codecs rtclab
// registers (codecTable): a packet with one of them is a retransmission.
func rtxPayloadTypes() map[uint8]bool {
	out := map[uint8]bool{}
	for _, c := range codecTable {
		if c.rtx != 0 {
			out[uint8(c.rtx)] = true
		}
	}
	return out
}

type nackRepairFactory struct {
	interval time.Duration
	retries  int
}

func (f *nackRepairFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &nackRepair{
		interval: f.interval, retries: f.retries, rtxPT: rtxPayloadTypes(),
		streams: map[uint32]*nackStream{}, rtxOf: map[uint32]uint32{},
		resent: map[uint32]map[uint16]time.Time{}, probes: map[uint32]*probeLog{},
		sent:  map[uint32]*sentLog{},
		close: make(chan struct{}),
	}, nil
}

type nackRepair struct {
	interceptor.NoOp
	interval time.Duration
	retries  int
	rtxPT    map[uint8]bool
	rtt      atomic.Int64 // nanoseconds, 0 before the first measurement

	mu      sync.Mutex
	streams map[uint32]*nackStream // receiving media streams by SSRC
	rtxOf   map[uint32]uint32      // RTX SSRC -> media SSRC, learned
	// resent remembers, per SSRC we send, when each sequence number was
	// last let through to the responder.
	resent map[uint32]map[uint16]time.Time
	// probes remembers, per SSRC we send, the sequence numbers of the
	// probes sent last (a set and its order, oldest first).
	probes map[uint32]*probeLog
	// sent is, per SSRC we send, when its last packets were sent
	// (history.go).
	sent map[uint32]*sentLog

	closeOnce sync.Once
	close     chan struct{}
	wg        sync.WaitGroup
}

// nackStream is one received media stream's missing packets.
type nackStream struct {
	seq     seqnum.Unwrapper
	missing map[int64]*nackEntry // by extended sequence number
}

type probeLog struct {
	set   map[uint16]bool
	order []uint16
}

// BindLocalStream remembers the probes sent on a stream and renumbers
// the retransmissions the responder writes on its RTX stream.
func (n *nackRepair) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	rtx := &rtxRenumber{ssrc: info.SSRCRetransmission}
	log := &sentLog{}
	n.mu.Lock()
	n.sent[info.SSRC] = log
	n.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if rtx.ssrc != 0 && h.SSRC == rtx.ssrc {
			return rtx.write(writer, h, payload, a)
		}
		if h.SSRC == info.SSRC {
			log.record(h.SequenceNumber, time.Now())
		}
		if h.SSRC == info.SSRC && IsPadding(h, payload) {
			n.sentProbe(h.SSRC, h.SequenceNumber)
		}
		return writer.Write(h, payload, a)
	})
}

// rtxRenumber gives the retransmissions on one RTX stream consecutive
// sequence numbers in the order they are sent (RFC 4588 section 4: "one
// higher than the sequence number of the preceding packet sent in the
// retransmission stream").
//
// pion/interceptor v0.1.42's responder numbers an RTX packet when it
// stores the original (internal/rtpbuffer PacketFactoryCopy.NewPacket),
// from a counter that every sent packet advances, and writes that same
// packet, number included, each time the original is NACKed. A repair
// whose first retransmission was lost thus came again with an old
// number, so far behind the RTX stream's newest that the receiver's SRTP
// replay window (64 packets in pion/srtp, RFC 3711 section 3.3.2)
// dropped it as a replay: under the dip trace 14 repairs reached bob's
// host and never his application (issue #10). Upstream: pion/interceptor
// pull request #285, open.
type rtxRenumber struct {
	ssrc uint32

	mu      sync.Mutex // held over the write: numbers leave in order
	started bool
	next    uint16
}

// write sends the retransmission h with the stream's next sequence
// number, on a copy of h: the responder keeps h for a later resend.
func (r *rtxRenumber) write(w interceptor.RTPWriter, h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		r.started, r.next = true, h.SequenceNumber // pion's random start (RFC 3550 section 5.1)
	}
	c := h.Clone()
	c.SequenceNumber = r.next
	r.next++
	return w.Write(&c, payload, a)
}

func (n *nackRepair) sentProbe(ssrc uint32, seq uint16) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := n.probes[ssrc]
	if l == nil {
		l = &probeLog{set: map[uint16]bool{}}
		n.probes[ssrc] = l
	}
	l.set[seq] = true
	l.order = append(l.order, seq)
	if len(l.order) > maxProbes {
		delete(l.set, l.order[0])
		l.order = l.order[1:]
	}
}

// UnbindLocalStream forgets a sent stream's probes.
func (n *nackRepair) UnbindLocalStream(info *interceptor.StreamInfo) {
	n.mu.Lock()
	delete(n.probes, info.SSRC)
	delete(n.resent, info.SSRC)
	delete(n.sent, info.SSRC)
	n.mu.Unlock()
}

type nackEntry struct {
	asked   int
	askedAt time.Time
}

// RTT returns the round-trip time measured last, or defaultRTT.
func (n *nackRepair) RTT() time.Duration {
	if d := n.rtt.Load(); d > 0 {
		return time.Duration(d)
	}
	return defaultRTT
}

// BindRTCPReader measures the RTT and filters incoming NACKs.
func (n *nackRepair) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		i, attr, err := readRTCPAttrs(reader, b, a)
		if err != nil {
			return 0, nil, err
		}
		pkts, err := attr.GetRTCPPackets(b[:i])
		if err != nil {
			return i, attr, nil // not ours to judge; later readers see the error
		}
		now := time.Now()
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.SenderReport:
				n.measure(now, p.Reports)
			case *rtcp.ReceiverReport:
				n.measure(now, p.Reports)
			case *rtcp.TransportLayerNack:
				// The responder reads the same parsed packets (pion
				// caches them in the attributes), so trimming the
				// pairs here trims what it resends.
				p.Nacks = n.filter(now, p.MediaSSRC, p.Nacks)
			}
		}
		return i, attr, nil
	})
}

// measure takes the RTT from report blocks about what this endpoint sends
// (RFC 3550 section 6.4.1: the arrival time minus LSR minus DLSR, in
// units of 1/65536 s).
func (n *nackRepair) measure(now time.Time, blocks []rtcp.ReceptionReport) {
	for _, r := range blocks {
		if r.LastSenderReport == 0 {
			continue
		}
		d := compactNTP(now) - r.LastSenderReport - r.Delay
		if d >= 1<<31 {
			continue // clock noise making it negative
		}
		n.rtt.Store(max(1, int64(d)*int64(time.Second)>>16))
	}
}

// compactNTP is the middle 32 bits of t's NTP timestamp (RFC 3550 section
// 4): 16 bits of seconds since 1900 and 16 bits of fraction.
func compactNTP(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	sec := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return uint32(sec<<16 | frac>>16)
}

// filter drops the packets of pairs asked for less than an RTT ago, the
// probes, and the packets sent longer than maxResendAge ago (history.go).
func (n *nackRepair) filter(now time.Time, ssrc uint32, pairs []rtcp.NackPair) []rtcp.NackPair {
	rtt := n.RTT()
	n.mu.Lock()
	defer n.mu.Unlock()
	last := n.resent[ssrc]
	if last == nil {
		last = map[uint16]time.Time{}
		n.resent[ssrc] = last
	}
	var probes map[uint16]bool
	if l := n.probes[ssrc]; l != nil {
		probes = l.set
	}
	log := n.sent[ssrc]
	var keep []uint16
	for _, p := range pairs {
		for _, seq := range p.PacketList() {
			if probes[seq] || !log.fresh(seq, now, rtt) {
				continue
			}
			if t, ok := last[seq]; ok && now.Sub(t) < rtt {
				continue
			}
			last[seq] = now
			keep = append(keep, seq)
		}
	}
	for seq, t := range last {
		if now.Sub(t) > time.Second+rtt {
			delete(last, seq) // long repaired or given up
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return rtcp.NackPairsFromSequenceNumbers(keep)
}

// BindRemoteStream follows received packets: media streams for gaps, RTX
// streams for repairs.
func (n *nackRepair) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if !supportsNACK(info) {
		return reader
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		i, attr, err := reader.Read(b, a)
		if err != nil {
			return 0, nil, err
		}
		if attr == nil {
			attr = make(interceptor.Attributes)
		}
		h, err := attr.GetRTPHeader(b[:i])
		if err != nil {
			return 0, nil, err
		}
		if n.rtxPT[h.PayloadType] {
			if seq, ok := originalSeq(h, b[:i]); ok { // not a padding-only probe
				n.repaired(h.SSRC, seq)
			}
		} else {
			n.arrived(h.SSRC, h.SequenceNumber)
		}
		return i, attr, nil
	})
}

func supportsNACK(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}

// arrived records a media packet: a gap after the highest so far opens
// missing entries, a late packet closes one.
func (n *nackRepair) arrived(ssrc uint32, seq uint16) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.streams[ssrc]
	if s == nil {
		s = &nackStream{missing: map[int64]*nackEntry{}}
		n.streams[ssrc] = s
	}
	high, started := s.seq.Highest()
	e := s.seq.Unwrap(seq)
	if !started || e <= high {
		delete(s.missing, e)
		return
	}
	for m := max(high+1, e-maxMissing); m < e; m++ {
		s.missing[m] = &nackEntry{}
	}
	if len(s.missing) > maxMissing {
		for m := range s.missing {
			if m < e-maxMissing {
				delete(s.missing, m)
			}
		}
	}
}

// repaired records a retransmission of seq on RTX stream rtx. Which media
// stream an RTX stream repairs is learned from its first packet that
// repairs a packet missing in exactly one stream: pion binds RTX streams
// without naming their media stream, and random sequence bases make two
// streams missing the same number at once a rare event.
func (n *nackRepair) repaired(rtx uint32, seq uint16) {
	n.mu.Lock()
	defer n.mu.Unlock()
	media, ok := n.rtxOf[rtx]
	if !ok {
		found := 0
		for ssrc, s := range n.streams {
			if _, missing := s.missing[s.seq.Peek(seq)]; missing {
				media, found = ssrc, found+1
			}
		}
		if found != 1 {
			return
		}
		n.rtxOf[rtx] = media
	}
	if s := n.streams[media]; s != nil {
		delete(s.missing, s.seq.Peek(seq))
	}
}

// BindRTCPWriter starts the NACK loop of this PeerConnection.
func (n *nackRepair) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	n.wg.Add(1)
	go n.loop(writer)
	return writer
}

func (n *nackRepair) loop(w interceptor.RTCPWriter) {
	defer n.wg.Done()
	sender := rand.Uint32()
	t := time.NewTicker(n.interval)
	defer t.Stop()
	for {
		select {
		case <-n.close:
			return
		case now := <-t.C:
			if pkts := n.due(now, sender); len(pkts) > 0 {
				_, _ = w.Write(pkts, interceptor.Attributes{})
			}
		}
	}
}

// due returns the NACKs to send now: every missing packet not yet asked
// for, or asked for at least an RTT ago, fewer than retries times.
func (n *nackRepair) due(now time.Time, sender uint32) []rtcp.Packet {
	rtt := n.RTT()
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []rtcp.Packet
	ssrcs := make([]uint32, 0, len(n.streams))
	for ssrc := range n.streams {
		ssrcs = append(ssrcs, ssrc)
	}
	sort.Slice(ssrcs, func(i, j int) bool { return ssrcs[i] < ssrcs[j] })
	for _, ssrc := range ssrcs {
		s := n.streams[ssrc]
		var seqs []int64
		for e, m := range s.missing {
			switch {
			case m.asked >= n.retries:
				delete(s.missing, e) // given up
			case m.asked == 0 || now.Sub(m.askedAt) >= rtt:
				m.asked++
				m.askedAt = now
				seqs = append(seqs, e)
			}
		}
		if len(seqs) == 0 {
			continue
		}
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		raw := make([]uint16, len(seqs))
		for i, e := range seqs {
			raw[i] = uint16(e)
		}
		out = append(out, &rtcp.TransportLayerNack{SenderSSRC: sender, MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(raw)})
	}
	return out
}

// UnbindRemoteStream forgets a stream.
func (n *nackRepair) UnbindRemoteStream(info *interceptor.StreamInfo) {
	n.mu.Lock()
	delete(n.streams, info.SSRC)
	delete(n.rtxOf, info.SSRC)
	n.mu.Unlock()
}

// Close stops the NACK loop.
func (n *nackRepair) Close() error {
	n.closeOnce.Do(func() { close(n.close) })
	n.wg.Wait()
	return nil
}
