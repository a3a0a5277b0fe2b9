package runner

import (
	"slices"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/stack/browser"
)

// A browser keeps no send or arrival log: its streams' figures come from
// the capture of its access link (probes.Wire: what it put on the wire,
// what reached it after its downlink) and from the logs of the pion end
// of the same stream, counted by the same code as every other stream
// (countStream). The capture sees SRTP, whose payload lengths are
// encrypted: payload sizes come from the sender's log by sequence
// number, and a retransmission's original sequence number (RFC 4588
// section 4, encrypted too) is read from the sender's log by RTP
// timestamp. What only the browser knows (the NACKs and PLIs it sent)
// comes from its getStats; the stream's Sources say which figure came
// from where, and what no source had is in its Missing, never 0.

// isBrowser reports whether participant name is a browser.
func (r *run) isBrowser(name string) bool {
	if r.browsers == nil {
		return false
	}
	for _, br := range r.browsers.runs {
		if br.p.Name == name {
			return true
		}
	}
	return false
}

// clockRate is the RTP clock rate of rtclab's codecs of kind: Opus 48
// kHz (RFC 7587 section 4.1), video 90 kHz.
func clockRate(kind string) uint32 {
	if kind == "audio" {
		return 48000
	}
	return 90000
}

// browserReceived fills st, the stream the browser br received on in,
// from the capture of its link against the last hop's send log (the
// SFU's, or the pion publisher's in p2p), and packets_sent from the
// publisher's send logs.
func (r *run) browserReceived(st *reports.Stream, br *browserRun, in browser.Stat) {
	var l streamLogs
	sf := r.currentSFU()
	if sf != nil {
		// Through the SFU: what it sent the browser on this SSRC (a
		// connection to an SFU that is gone has no log).
		log, rtx, ok, err := sf.SendLog(br.p.Name, in.SSRC)
		r.readFailed(err)
		if ok {
			l.hop, l.hopRTX, l.hopSender = r.upToCount(log), rtx, "sfu"
		}
	}
	published := false
	if snd, conn := r.publisherSenderAt(st.From, br.p.Name, st.Kind, max(1, st.Connection)); snd != nil {
		published = true
		st.Codec = snd.Track.Codec().MimeType
		for _, enc := range snd.RTP.GetParameters().Encodings {
			log, rtx, _, err := conn.PC.SendLog(uint32(enc.SSRC))
			r.readFailed(err)
			log = r.upToCount(log)
			l.layers = append(l.layers, log)
			l.ssrcs = append(l.ssrcs, uint32(enc.SSRC))
			l.rtxSSRCs = append(l.rtxSSRCs, rtx)
			if sf == nil && uint32(enc.SSRC) == in.SSRC {
				l.hop, l.hopRTX, l.hopSender = log, rtx, st.From
			}
		}
	}
	st.Sources = map[string]string{}
	if len(l.hop) == 0 {
		// Without the sender's log the capture has no payload sizes and
		// cannot tell a repair (its original sequence number is
		// encrypted): the browser's own counts stand (an SFU that is gone
		// took its log with it).
		st.PacketsReceived, st.PacketsLost = in.PacketsReceived, uint64(max(in.PacketsLost, 0))
		st.PacketsExpected = st.PacketsReceived + st.PacketsLost
		if st.PacketsExpected > 0 {
			st.LossFraction = round(float64(st.PacketsLost)/float64(st.PacketsExpected), 5)
		}
		st.JitterMS = round(in.Jitter*1000, 3)
		for _, f := range []string{"packets_received", "packets_expected", "packets_lost", "loss_fraction", "jitter_ms"} {
			st.Sources[f] = reports.SourceGetStats
		}
		st.Missing = []string{"raw_loss_fraction", "bitrate_kbps"}
		for _, layer := range l.layers {
			st.PacketsSent += uint64(analysis.CountSent(layer).Media)
		}
	} else {
		w := r.browsers.wires[br.p.Name]
		var rtx []analysis.Packet
		if l.hopRTX != 0 {
			rtx = w.Stream(l.hopRTX, r.countedAt)
		}
		l.arrivals = arrivedAtBrowser(w.Stream(in.SSRC, r.countedAt), rtx, l.hop)
		rec := countStream(st, l, clockRate(st.Kind))
		st.Wire.SSRC = in.SSRC
		for _, f := range []string{"packets_received", "packets_expected", "packets_lost", "loss_fraction", "raw_loss_fraction", "jitter_ms", "bitrate_kbps"} {
			st.Sources[f] = reports.SourceCapture
		}
		if kbps, ok := r.meanBitrate(l.arrivals, rec.Bytes); ok {
			st.BitrateKbps = kbps
		} else {
			st.Missing = append(st.Missing, "bitrate_kbps")
		}
	}
	if !published {
		st.Missing = append(st.Missing, "packets_sent")
	}
	// The browser's own count of the feedback it sent.
	st.NACKCount, st.PLICount = in.NackCount, in.PliCount
	st.Sources["nack_count"], st.Sources["pli_count"] = reports.SourceGetStats, reports.SourceGetStats
	// pion's jitter estimate has no browser counterpart.
	st.Missing = append(st.Missing, "pion_jitter_ms")
}

// upToCount is the part of a send log sent by the final count (all of
// it when the run never took one): what the agents' logs held then.
func (r *run) upToCount(log []analysis.Packet) []analysis.Packet {
	if r.countedAt.IsZero() {
		return log
	}
	n, _ := slices.BinarySearchFunc(log, r.countedAt, func(p analysis.Packet, at time.Time) int {
		if p.At.After(at) {
			return 1
		}
		return -1
	})
	return log[:n]
}

// arrivedAtBrowser is the arrival log of one stream at a browser's link
// (what countStream reads from a pion receiver's own log): the media
// packets the capture saw on the stream's SSRC and the retransmissions on
// its RTX SSRC, in capture order, with their payload sizes from hop, the
// sender's send log (matched by sequence number and RTP timestamp). A
// retransmission's original sequence number is encrypted: it is the one
// of the packets hop retransmitted with the same RTP timestamp (RFC 4588
// section 4: a retransmission keeps the original's timestamp) that had not
// arrived yet, or, when all had, the first (a duplicate). A
// retransmission hop has no record of is left out.
func arrivedAtBrowser(media, rtx, hop []analysis.Packet) []analysis.Packet {
	type key struct {
		seq uint16
		ts  uint32
	}
	size := map[key]int{}
	retransmitted := map[uint32][]key{} // by RTP timestamp, in send order
	for _, p := range hop {
		k := key{p.Seq, p.Timestamp}
		switch {
		case p.RTX && !p.Padding:
			if !slices.Contains(retransmitted[p.Timestamp], k) {
				retransmitted[p.Timestamp] = append(retransmitted[p.Timestamp], k)
			}
		case !p.RTX:
			size[k] = p.Size
		}
	}
	out := make([]analysis.Packet, 0, len(media)+len(rtx))
	got := map[key]bool{}
	for _, p := range media {
		p.Size = size[key{p.Seq, p.Timestamp}]
		out = append(out, p)
		if !p.Padding {
			got[key{p.Seq, p.Timestamp}] = true
		}
	}
	for _, p := range rtx {
		cands := retransmitted[p.Timestamp]
		if p.Padding || len(cands) == 0 {
			continue // a probe, or nothing hop retransmitted
		}
		k := cands[0]
		for _, c := range cands {
			if !got[c] {
				k = c
				break
			}
		}
		got[k] = true
		out = append(out, analysis.Packet{Seq: k.seq, Timestamp: k.ts, At: p.At, Size: size[k], RTX: true})
	}
	slices.SortStableFunc(out, func(a, b analysis.Packet) int { return a.At.Compare(b.At) })
	return out
}

// browserPublished fills l's publisher send log for a stream a pion
// agent (to) received from from, when from is a browser participant,
// from the capture of the browser's link: the RTP packets it sent on its
// outbound SSRC of kind whose packets the receiver got (in p2p on the
// receiver's own SSRC; through the SFU, which forwards the browser's
// sequence numbers and timestamps unchanged, on the SFU's). In p2p that
// log is also the last hop's. isBrowser is false when from is no
// browser; found is false when none of its streams matched.
func (r *run) browserPublished(l *streamLogs, from, to, kind string) (isBrowser, found bool) {
	if r.browsers == nil {
		return false, false
	}
	var br *browserRun
	for _, b := range r.browsers.runs {
		if b.p.Name == from {
			br = b
		}
	}
	if br == nil {
		return false, false
	}
	br.mu.Lock()
	snap := br.last
	br.mu.Unlock()
	w := r.browsers.wires[from]
	type key struct {
		seq uint16
		ts  uint32
	}
	arrived := map[key]bool{}
	for _, p := range l.arrivals {
		if !p.RTX && !p.Padding {
			arrived[key{p.Seq, p.Timestamp}] = true
		}
	}
	p2p := r.currentSFU() == nil
	for _, ps := range snap.Peers {
		if p2p != (ps.Remote == to) {
			continue
		}
		for _, out := range ps.All("outbound-rtp", kind) {
			sent := w.Stream(out.SSRC, r.countedAt)
			if !slices.ContainsFunc(sent, func(p analysis.Packet) bool { return arrived[key{p.Seq, p.Timestamp}] }) {
				continue
			}
			l.layers = [][]analysis.Packet{sent}
			l.ssrcs, l.rtxSSRCs = []uint32{out.SSRC}, []uint32{out.RTXSSRC}
			if p2p {
				var rtx []analysis.Packet
				if out.RTXSSRC != 0 {
					for _, p := range w.Stream(out.RTXSSRC, r.countedAt) {
						p.RTX = true // its sequence number is the RTX stream's own: counted, not matched
						rtx = append(rtx, p)
					}
				}
				l.hop, l.hopRTX, l.hopSender = slices.Concat(sent, rtx), out.RTXSSRC, from
			}
			return true, true
		}
	}
	return true, false
}
