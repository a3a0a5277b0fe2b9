package verify

import (
	"fmt"
	"github.com/rtclab/rtclab/seqnum"
	"math"
	"slices"
	"time"
)

// payloadType describes one RTP payload type rtclab's endpoints signal
// (the codec table of stack/peer; every offer and answer uses it).
type payloadType struct {
	kind  string // "audio" or "video"
	clock float64
	rtx   bool // RFC 4588 retransmission
}

var payloadTypes = map[uint8]payloadType{
	111: {"audio", 48000, false}, // Opus
	96:  {"video", 90000, false}, // VP8
	97:  {"video", 90000, true},
	98:  {"video", 90000, false}, // VP9
	99:  {"video", 90000, true},
	102: {"video", 90000, false}, // H.264
	103: {"video", 90000, true},
	45:  {"video", 90000, false}, // AV1
	46:  {"video", 90000, true},
}

// StreamCount is the recount of one stream (publisher, receiver, kind)
// from the captures.
type StreamCount struct {
	From, To, Kind string
	// PublisherSSRCs are the publisher's media SSRCs of this kind (one per
	// simulcast layer); SSRC and RTXSSRC are what the receiver got.
	PublisherSSRCs []uint32
	SSRC, RTXSSRC  uint32
	// Sent counts the publisher's media packets on the wire (every
	// layer), SentRTX its retransmissions. SentPadded counts the media
	// packets among Sent with the P bit set (RFC 3550 section 5.1):
	// decrypted, they carry media, but read without the keys they look
	// like padding probes.
	Sent, SentRTX, SentPadded uint64
	// HopHost is the host that sent the stream to the receiver (the SFU,
	// or the publisher peer to peer); HopSent counts its media packets
	// (padding apart, HopPadding) and InFlight those of them sent too
	// late to arrive before the capture ended.
	HopHost             string
	HopSent, HopPadding uint64
	// HopUnsent counts the sequence numbers the hop gave packets it never
	// put on the wire (within its first and last on the wire): numbered
	// while it had no path to the receiver.
	HopUnsent uint64
	InFlight  uint64
	// Queued counts the packets on their way at the report's final read
	// (sent within the longest transit before it) when that instant is
	// known: lost, as the report counts them.
	Queued     uint64
	MaxTransit time.Duration
	// Arrived counts media packets arriving at the receiver, duplicates
	// included; Unique the distinct sequence numbers among them; Padding
	// the padding-only packets and RTX the retransmissions it got.
	Arrived, Unique, Padding, RTX uint64
	// Lost is HopSent - InFlight - Unique: never arrived as originals.
	Lost uint64
	// RepairedMin and RepairedMax bound how many lost packets an RTX
	// packet repaired (matched by RTP timestamp and size; the original
	// sequence number is encrypted).
	RepairedMin, RepairedMax uint64
	// RTXDecrypted is true when every RTX packet was decrypted: the
	// repairs are then counted exactly (Min = Max).
	RTXDecrypted bool
	// RTXNotSent counts the distinct original sequence numbers of RTX
	// packets that the hop never sent as media to this receiver.
	// RTXOfPadding counts those that repeat a padding probe.
	RTXNotSent, RTXOfPadding uint64
	// JitterMS is RFC 3550 interarrival jitter (appendix A.8) over the
	// media packets in arrival order, at the end.
	JitterMS float64
	// Bytes is the payload bytes of the distinct media packets, with the
	// repairs' bytes between BytesRepairedMin and BytesRepairedMax.
	Bytes, BytesRepairedMin, BytesRepairedMax uint64
	// MaxPayload is the largest payload, in bytes.
	MaxPayload int
	// FirstArrival is the first media packet's capture time.
	FirstArrival time.Time
	// NACKs and PLIs count the receiver's feedback packets whose first
	// RTCP header is a generic NACK or a PLI/FIR; the media SSRC they
	// refer to is encrypted, so they are per receiver, not per stream.
	NACKs, PLIs uint64
	// arrivals are the distinct packets (originals, and repairs when
	// decrypted) with their payload bytes, in arrival order but for
	// repairs, which are appended.
	arrivals []arrival
	// FeedbackDecrypted is true when the receiver's SRTCP was decrypted:
	// NACKs and PLIs then count the feedback about this stream's SSRC.
	FeedbackDecrypted bool
	// NACKsSealed and PLIsSealed count, when some of the receiver's
	// SRTCP was decrypted, the packets that were not and whose clear
	// first header is a generic NACK or a PLI/FIR: each may be about this
	// stream or another, so NACKs and PLIs are then lower bounds.
	NACKsSealed, PLIsSealed uint64
}

// isPadding reports a bandwidth probe: the P bit set and, when it could
// be decrypted, nothing but padding or zero bytes (stack/sfu's probes
// carry zero bytes, since pion's GCC counts payload bytes only).
func (r RTP) isPadding() bool {
	return r.Padding && (!r.Decrypted || r.ZeroPayload)
}

// arrival is one distinct packet's arrival and payload size.
type arrival struct {
	at    time.Time
	bytes int
}

// participantSet is what recount needs of a report: who is where.
type participantSet struct {
	topology string
	names    []string
}

// streamKey names a stream: its publisher, receiver and kind, and the
// SSRC the receiver got it on (a stream received on two connections, after
// an SFU restart, is two streams).
type streamKey struct {
	from, to, kind string
	ssrc           uint32
}

// recountStreams counts every stream found in the captures: for each
// receiver and each inbound media SSRC, which publisher's stream it is,
// matched by the (sequence number, timestamp) pairs the SFU forwards
// unchanged (stack/sfu munger: the first layer passes through as is).
func recountStreams(caps map[string]*capture, ps participantSet, end time.Time) (map[streamKey]*StreamCount, error) {
	// Every publisher's outbound media SSRCs and their (seq, ts) pairs.
	type pubSSRC struct {
		host        string
		kind        string
		keys        map[uint64]bool
		first, last time.Time
	}
	pubs := map[uint32]*pubSSRC{}
	for _, name := range ps.names {
		c := caps[name]
		for _, r := range c.rtp {
			pt, ok := payloadTypes[r.PT]
			if !r.Out || !ok || pt.rtx || r.isPadding() {
				continue
			}
			p := pubs[r.SSRC]
			if p == nil {
				p = &pubSSRC{host: name, kind: pt.kind, keys: map[uint64]bool{}, first: r.At}
				pubs[r.SSRC] = p
			}
			p.last = r.At
			p.keys[uint64(r.Seq)<<32|uint64(r.Timestamp)] = true
		}
	}
	out := map[streamKey]*StreamCount{}
	for _, to := range ps.names {
		c := caps[to]
		// inbound media SSRCs, matched to a publisher SSRC
		match := map[uint32]map[uint32]int{}
		kinds := map[uint32]payloadType{}
		for _, r := range c.rtp {
			pt, ok := payloadTypes[r.PT]
			if r.Out || !ok || pt.rtx || r.isPadding() {
				continue
			}
			kinds[r.SSRC] = pt
			if match[r.SSRC] == nil {
				match[r.SSRC] = map[uint32]int{}
			}
			for s, p := range pubs {
				if p.host != to && p.kind == pt.kind && p.keys[uint64(r.Seq)<<32|uint64(r.Timestamp)] {
					match[r.SSRC][s]++
				}
			}
		}
		for ssrc, m := range match {
			var best uint32
			for s, n := range m {
				if n > m[best] || (n == m[best] && s < best) {
					best = s
				}
			}
			if m[best] == 0 {
				continue // no publisher's packets: not a stream of this run
			}
			from := pubs[best].host
			k := streamKey{from, to, kinds[ssrc].kind, ssrc}
			sc := &StreamCount{From: from, To: to, Kind: k.kind, SSRC: ssrc}
			// The publisher's SSRCs of this track: every simulcast layer,
			// sent alongside the matched one; a connection before or
			// after it (an SFU restart) sent at other times.
			bp := pubs[best]
			for s, p := range pubs {
				if p.host == from && p.kind == k.kind && !p.first.After(bp.last) && !p.last.Before(bp.first) {
					sc.PublisherSSRCs = append(sc.PublisherSSRCs, s)
				}
			}
			slices.Sort(sc.PublisherSSRCs)
			hop := "sfu"
			if ps.topology == "p2p" {
				hop = from
			}
			hc := caps[hop]
			if hc == nil {
				return nil, fmt.Errorf("no capture of %s, which sent %s->%s %s", hop, from, to, k.kind)
			}
			sc.count(caps[from], hc, c, kinds[ssrc].clock, end)
			out[k] = sc
		}
	}
	return out, nil
}

// count fills the stream's numbers from the publisher's, the hop
// sender's and the receiver's captures.
//
// Only what happened by end counts (zero: until the captures end): the
// report is taken at the scenario's end, and captures run a little longer.
func (sc *StreamCount) count(pub, hop, rx *capture, clock float64, end time.Time) {
	before := func(at time.Time) bool { return end.IsZero() || !at.After(end) }
	tag := srtpTagLen[rx.srtpProfile]
	for _, r := range pub.rtp {
		pt, ok := payloadTypes[r.PT]
		if !r.Out || !ok || pt.kind != sc.Kind || !before(r.At) {
			continue
		}
		switch {
		case pt.rtx:
			sc.SentRTX++
		case !r.isPadding() && slices.Contains(sc.PublisherSSRCs, r.SSRC):
			sc.Sent++
			if r.Padding {
				sc.SentPadded++
			}
		}
	}
	sc.HopHost = hop.host
	type key struct {
		ts   uint32
		body int
	}
	// Sequence numbers are extended (RFC 3550 A.1) in the hop's numbering:
	// a call of more than 65,536 packets reuses every 16-bit number (the
	// recount of a 32-minute call counted 65,536 of 94,091 packets).
	sentAt := map[int64]time.Time{}
	padSeq := map[int64]bool{}
	sentKey := map[int64]key{}
	var lastSent time.Time
	// The hop's sequence numbers, extended, also find the numbers it gave
	// packets it never put on the wire.
	var unwrap, rxUnwrap seqnum.Unwrapper
	numbered := map[int64]bool{}
	lowest, highest := int64(math.MaxInt64), int64(math.MinInt64)
	for _, r := range hop.rtp {
		if !r.Out || r.SSRC != sc.SSRC || !before(r.At) {
			continue
		}
		if _, ok := unwrap.Highest(); !ok {
			rxUnwrap.Unwrap(r.Seq) // the receiver's numbers extend from the hop's first
		}
		ext := unwrap.Unwrap(r.Seq)
		numbered[ext] = true
		lowest, highest = min(lowest, ext), max(highest, ext)
		if r.isPadding() {
			sc.HopPadding++
			padSeq[ext] = true
			continue
		}
		if _, dup := sentAt[ext]; !dup {
			sentAt[ext], sentKey[ext] = r.At, key{r.Timestamp, r.Body}
		}
		lastSent = r.At
	}
	sc.HopSent = uint64(len(sentAt))
	if highest >= lowest {
		// A sender numbers packets before its transport takes them: with
		// no path (ICE restarting, a relay allocation gone) the packets it
		// numbered in the meantime never reach the wire. The report
		// expects them (RFC 3550 A.3: the extended sequence number range)
		// and counts them lost; so does the recount.
		sc.HopUnsent = uint64(highest-lowest+1) - uint64(len(numbered))
	}
	// The receiver's media: arrivals, distinct numbers, jitter.
	got := map[int64]bool{}
	media := rxUnwrap           // extends the RTX packets' original numbers below, at their arrival
	var transits [][2]time.Time // arrival, sending of each matched packet
	var j, prevTransit float64
	first := true
	for _, r := range rx.rtp {
		if r.Out {
			continue
		}
		if r.SSRC != sc.SSRC || !before(r.At) {
			continue
		}
		ext := rxUnwrap.Unwrap(r.Seq)
		if r.isPadding() {
			sc.Padding++
			continue
		}
		sc.Arrived++
		if sc.FirstArrival.IsZero() {
			sc.FirstArrival = r.At
		}
		if at, ok := sentAt[ext]; ok {
			transits = append(transits, [2]time.Time{r.At, at})
		}
		if got[ext] {
			// A duplicate (a link's `duplicate:`) never reaches the
			// application: SRTP's replay check drops it (RFC 3711
			// section 3.3.2), as it does in a browser, so it feeds
			// neither the distinct count nor the jitter below. Counted in the
			// jitter it arrived with the original's transit, D = 0, and
			// pulled the recount 5.6 % under the report's.
			continue
		}
		// RFC 3550 appendix A.8, in timestamp units, as a real number.
		transit := float64(r.At.UnixNano())/1e9*clock - float64(r.Timestamp)
		if !first {
			d := math.Abs(transit - prevTransit)
			if d > float64(1<<31) { // timestamp wrap between the two
				d = math.Abs(d - float64(1<<32))
			}
			j += (d - j) / 16
		}
		prevTransit, first = transit, false
		got[ext] = true
		payload := r.Body - tag
		if r.Decrypted {
			payload = r.Payload
		}
		sc.arrivals = append(sc.arrivals, arrival{r.At, max(payload, 0)})
		sc.Bytes += uint64(max(payload, 0))
		sc.MaxPayload = max(sc.MaxPayload, payload)
	}
	sc.Unique = uint64(len(got))
	sc.JitterMS = j / clock * 1000
	// What was still on its way when the counts were taken: packets sent
	// after both (a) the last second's longest transit before the horizon and
	// (b) the latest-sent packet that did arrive, less the farthest any
	// packet was overtaken (a FIFO link delivers nothing sent before a
	// packet that already arrived). (a) keeps a tail outage's losses
	// losses; (b) keeps a full queue's drops losses.
	var lastSend time.Time
	var overtaken time.Duration
	if n := len(transits); n > 0 {
		last := transits[n-1][0]
		for i := n - 1; i >= 0 && last.Sub(transits[i][0]) <= time.Second; i-- {
			sc.MaxTransit = max(sc.MaxTransit, transits[i][0].Sub(transits[i][1]))
		}
		for _, tr := range transits {
			if tr[1].After(lastSend) {
				lastSend = tr[1]
			}
			overtaken = max(overtaken, lastSend.Sub(tr[1]))
		}
	}
	// The horizon is when the counts were taken: the report's final read
	// when its instant is known (a packet sent by then less the longest
	// transit would have arrived had it not been lost: a tail outage's
	// packets are lost, not in flight), else the hop's last send.
	horizon := lastSent
	if !end.IsZero() {
		horizon = end
	}
	inFlightFrom := horizon.Add(-sc.MaxTransit)
	if t := lastSend.Add(-overtaken); t.After(inFlightFrom) {
		inFlightFrom = t
	}
	// Missing packets: sent by the hop, never arrived, and not on their way.
	missing := map[key]int{}
	total := map[key]int{}
	inFlight := map[int64]bool{}
	for seq, at := range sentAt {
		k := sentKey[seq]
		total[k]++
		if got[seq] {
			continue
		}
		if at.After(inFlightFrom) {
			if !end.IsZero() {
				// The report's final read is known: what had not come by
				// then is lost in the report however long its queue (a
				// TURN/TCP relay's send buffer can hold seconds of media),
				// and in the recount too.
				sc.Queued++
			} else {
				sc.InFlight++
				inFlight[seq] = true
				continue
			}
		}
		missing[k]++
	}
	sc.Lost = sc.HopSent + sc.HopUnsent - sc.InFlight - min(sc.Unique, sc.HopSent+sc.HopUnsent-sc.InFlight)
	// Retransmissions (RFC 4588 section 4: same timestamp, the original
	// sequence number, OSN, in two extra payload bytes) on the receiver's
	// RTX SSRC: the one whose packets fall among this stream's. Decrypted,
	// the OSN says exactly which packet each repairs; encrypted, a repair
	// is matched by timestamp and size, and the count is a range.
	type rtxPacket struct {
		at        time.Time
		k         key
		osn       int64 // extended against the media's highest number at its arrival
		decrypted bool
		payload   int
	}
	rtxBy := map[uint32][]rtxPacket{}
	for _, r := range rx.rtp {
		if !r.Out && r.SSRC == sc.SSRC && before(r.At) {
			media.Unwrap(r.Seq)
			continue
		}
		pt, ok := payloadTypes[r.PT]
		if r.Out || !ok || !pt.rtx || pt.kind != sc.Kind || !before(r.At) || r.isPadding() {
			continue
		}
		rtxBy[r.SSRC] = append(rtxBy[r.SSRC], rtxPacket{r.At, key{r.Timestamp, r.Body - 2}, media.Peek(r.OSN), r.Decrypted, r.Payload})
	}
	bestN := 0
	for s, ps := range rtxBy {
		n := 0
		for _, p := range ps {
			if (p.decrypted && sentKey[p.osn].ts == p.k.ts) || (!p.decrypted && total[p.k] > 0) {
				n++
			}
		}
		if n > bestN || (n == bestN && n > 0 && s < sc.RTXSSRC) {
			sc.RTXSSRC, bestN = s, n
		}
	}
	rtx := rtxBy[sc.RTXSSRC]
	sc.RTX = uint64(len(rtx))
	exact := len(rtx) > 0
	for _, p := range rtx {
		exact = exact && p.decrypted
	}
	if exact {
		repaired, stray := map[int64]bool{}, map[int64]bool{}
		for _, p := range rtx {
			if _, sent := sentAt[p.osn]; !sent {
				if !stray[p.osn] {
					stray[p.osn] = true
					sc.RTXNotSent++
					if padSeq[p.osn] {
						sc.RTXOfPadding++
					}
				}
				continue
			}
			if got[p.osn] || repaired[p.osn] || inFlight[p.osn] {
				continue
			}
			repaired[p.osn] = true
			sc.arrivals = append(sc.arrivals, arrival{p.at, p.payload})
			sc.RepairedMin++
			sc.BytesRepairedMin += uint64(p.payload)
		}
		sc.RepairedMax, sc.BytesRepairedMax = sc.RepairedMin, sc.BytesRepairedMin
		sc.RTXDecrypted = true
	} else {
		byKey := map[key]int{}
		for _, p := range rtx {
			byKey[p.k]++
		}
		for k, c := range byKey {
			m := missing[k]
			if m == 0 {
				continue
			}
			hi := uint64(min(m, c))
			sc.RepairedMax += hi
			sc.BytesRepairedMax += hi * uint64(max(k.body-tag, 0))
			if m == total[k] { // every packet with this key was lost: at least one repaired
				sc.RepairedMin++
				sc.BytesRepairedMin += uint64(max(k.body-tag, 0))
			}
		}
	}
	for _, r := range rx.rtcp {
		if !r.Out || !before(r.At) {
			continue
		}
		if r.Decrypted {
			sc.FeedbackDecrypted = true
			for _, m := range r.NACKs {
				if m == sc.SSRC {
					sc.NACKs++
				}
			}
			for _, m := range r.PLIs {
				if m == sc.SSRC {
					sc.PLIs++
				}
			}
			continue
		}
		switch {
		case r.PT == 205 && r.FMT == 1:
			sc.NACKsSealed++
		case r.PT == 206 && (r.FMT == 1 || r.FMT == 4):
			sc.PLIsSealed++
		}
	}
	if !sc.FeedbackDecrypted { // no key log: the clear headers are all there is
		sc.NACKs, sc.PLIs, sc.NACKsSealed, sc.PLIsSealed = sc.NACKsSealed, sc.PLIsSealed, 0, 0
	}
}
