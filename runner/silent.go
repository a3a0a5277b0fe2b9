package runner

import (
	"fmt"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// silentStreams returns a stream for every track that was negotiated but
// delivered nothing, so it appears in the report (pion announces a remote
// track only with its first packet, so the receiver never saw it): with
// the SFU, every negotiation that succeeded; in p2p, every track a
// publisher sends to its peer.
func (r *run) silentStreams(have []reports.Stream) []reports.Stream {
	type key struct{ from, to, kind string }
	seen := map[key]bool{}
	for _, st := range have {
		seen[key{st.From, st.To, st.Kind}] = true
	}
	var out []reports.Stream
	add := func(from, to, kind, codec string) {
		k := key{from, to, kind}
		if seen[k] {
			return
		}
		seen[k] = true
		st := reports.Stream{From: from, To: to, Kind: kind, Codec: codec}
		w := &reports.StreamWire{PublisherSSRCs: []uint32{}, PublisherRTXSSRCs: []uint32{}, Sender: "sfu"}
		if r.currentSFU() == nil {
			w.Sender = from
		}
		if r.isBrowser(from) {
			st.Missing = []string{"packets_sent"} // no send log, and no packet received to find its stream on the wire by
		}
		if snd, conn := r.publisherSender(from, to, kind); snd != nil {
			for _, enc := range snd.RTP.GetParameters().Encodings {
				log, rtx, _, err := conn.PC.SendLog(uint32(enc.SSRC))
				r.readFailed(err)
				c := analysis.CountSent(log)
				st.PacketsSent += uint64(c.Media)
				w.PublisherRTX += uint64(c.RTX)
				w.PublisherMediaBytes += uint64(c.MediaBytes)
				w.PublisherSSRCs = append(w.PublisherSSRCs, uint32(enc.SSRC))
				w.PublisherRTXSSRCs = append(w.PublisherRTXSSRCs, rtx)
			}
		}
		if len(w.PublisherSSRCs) == 1 && st.PacketsSent > 0 {
			// One layer: everything the publisher put on the wire was due
			// here, and nothing came.
			st.PacketsExpected, st.PacketsLost, st.LossFraction, st.RawLossFraction = st.PacketsSent, st.PacketsSent, 1, 1
		}
		st.Wire = w
		if kind == "video" {
			// Nothing shown: no frames, no rate, frozen all along.
			start := time.Duration(0)
			if pub, ok := r.joinedAt(from); ok {
				start = pub.Sub(r.start)
			}
			pb := analysis.AnalyzePlayback(nil, analysis.PlaySpan{Start: start, End: r.ended})
			st.Video = &reports.VideoStream{Layers: []string{}, LayerSwitches: []reports.LayerSwitch{}, Freezes: []reports.FreezeInterval{},
				FreezeCount: len(pb.Freezes), FreezeMS: round(ms(pb.FreezeTime), 1)}
			for _, f := range pb.Freezes {
				st.Video.Freezes = append(st.Video.Freezes, reports.FreezeInterval{StartS: round(f.Start.Seconds(), 3), DurationMS: round(ms(f.Duration), 1)})
			}
		}
		out = append(out, st)
	}
	if r.currentSFU() != nil {
		for _, n := range r.currentSFU().Negotiations() {
			if n.OK {
				add(n.Publisher, n.Subscriber, n.Kind, n.Codec)
			}
		}
		return out
	}
	for _, pub := range r.agents {
		for _, c := range pub.a.Conns() {
			for _, snd := range c.Senders() {
				add(pub.p.Name, c.Remote, snd.Clip.Kind(), snd.Track.Codec().MimeType)
			}
		}
	}
	return out
}

// carriedNothing is the implicit check every call scenario gets: a
// negotiated track that delivered no media fails the run. An explicit
// packets_received expectation that selects the stream replaces it (e.g.
// max: 0 for a call that must not connect).
func carriedNothing(expect []scenarios.Expectation, streams []reports.Stream) []analysis.Check {
	var out []analysis.Check
	one := 1.0
	for _, st := range streams {
		if st.PacketsReceived > 0 || explicitlyChecked(expect, "packets_received", st) {
			continue
		}
		name := fmt.Sprintf("packets_received %s->%s %s (implicit: a negotiated track must carry media)", st.From, st.To, st.Kind)
		out = append(out, analysis.Evaluate(name, float64(st.PacketsReceived), analysis.Bound{Min: &one}))
	}
	return out
}

// explicitlyChecked reports whether an expectation on metric selects st.
func explicitlyChecked(expect []scenarios.Expectation, metric string, st reports.Stream) bool {
	for _, e := range expect {
		if e.Metric == metric && (e.From == "" || e.From == st.From) && (e.To == "" || e.To == st.To) && (e.Kind == "" || e.Kind == st.Kind) {
			return true
		}
	}
	return false
}
