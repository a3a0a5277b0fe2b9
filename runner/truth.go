package runner

import (
	"math"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/stack/agent"
)

// streamLogs is what a received stream's metrics are computed from: the
// receiver's arrival log and the send logs of what was put on the wire
// (see analysis.Packet), taken when the run ends.
type streamLogs struct {
	arrivals []analysis.Packet
	// hop is the last hop's send log towards the receiver (the SFU's, or
	// the publisher's in p2p) on the receiver's SSRC; hopSender names it.
	hop       []analysis.Packet
	hopRTX    uint32
	hopSender string
	// layers are the publisher's send logs, one per simulcast layer, with
	// their SSRCs.
	layers   [][]analysis.Packet
	ssrcs    []uint32
	rtxSSRCs []uint32
}

// logs reads the logs of every received stream.
func (s *sampler) logs() map[*agent.Receiver]streamLogs {
	out := map[*agent.Receiver]streamLogs{}
	for _, st := range s.order {
		arrivals, err := st.rx.Arrivals()
		s.r.readFailed(err)
		l := streamLogs{arrivals: arrivals}
		if s.r.currentSFU() != nil {
			l.hopSender = "sfu"
			l.hop, l.hopRTX, _, err = s.r.currentSFU().SendLog(st.owner.p.Name, st.rx.SSRC)
			s.r.readFailed(err)
		}
		if snd, conn := s.r.streamSender(st); snd != nil {
			for _, enc := range snd.RTP.GetParameters().Encodings {
				log, rtx, _, err := conn.PC.SendLog(uint32(enc.SSRC))
				s.r.readFailed(err)
				l.layers = append(l.layers, log)
				l.ssrcs = append(l.ssrcs, uint32(enc.SSRC))
				l.rtxSSRCs = append(l.rtxSSRCs, rtx)
				if s.r.currentSFU() == nil && uint32(enc.SSRC) == st.rx.SSRC {
					l.hop, l.hopRTX, l.hopSender = log, rtx, st.rx.From
				}
			}
		}
		out[st.rx] = l
	}
	return out
}

// publisherSender returns the sender of publisher pub's track of kind
// that reaches receiver to (through the SFU, or directly in p2p), and its
// connection; nil when there is none.
func (r *run) publisherSender(pub, to, kind string) (*agent.Sender, *agent.Conn) {
	for _, ar := range r.agents {
		if ar.p.Name != pub {
			continue
		}
		for _, c := range ar.a.Conns() {
			if c.Remote != "sfu" && c.Remote != to {
				continue
			}
			for _, snd := range c.Senders() {
				if snd.Clip.Kind() == kind {
					return snd, c
				}
			}
		}
	}
	return nil, nil
}

// countStream fills out's packet counts, loss and jitter from the logs,
// over the whole call: what never arrived by the end counts as lost.
func countStream(out *reports.Stream, l streamLogs, clockRate uint32) analysis.Reception {
	rec := analysis.Receive(l.arrivals, l.hop)
	out.PacketsReceived = uint64(rec.Received)
	out.PacketsExpected = uint64(rec.Expected)
	out.PacketsLost = uint64(rec.Lost)
	out.LossFraction, out.RawLossFraction = 0, 0
	if rec.Expected > 0 {
		out.LossFraction = round(rec.LossFraction(), 5)
		out.RawLossFraction = round(float64(rec.Lost+rec.Repaired)/float64(rec.Expected), 5)
	}
	out.JitterMS = round(ms(analysis.Jitter(l.arrivals, clockRate)), 3)
	w := &reports.StreamWire{
		PublisherSSRCs: l.ssrcs, PublisherRTXSSRCs: l.rtxSSRCs, Sender: l.hopSender,
		RTXSSRC:     l.hopRTX,
		ReceivedRTX: uint64(rec.RTX), ReceivedPadding: uint64(rec.Padding),
		Repaired: uint64(rec.Repaired), Late: uint64(rec.Late), Duplicates: uint64(rec.Duplicates),
	}
	if w.PublisherSSRCs == nil {
		w.PublisherSSRCs, w.PublisherRTXSSRCs = []uint32{}, []uint32{}
	}
	hop := analysis.CountSent(l.hop)
	w.Media, w.MediaBytes, w.Padding, w.RTX = uint64(hop.Media), uint64(hop.MediaBytes), uint64(hop.Padding), uint64(hop.RTX)
	out.PacketsSent = 0
	for _, layer := range l.layers {
		c := analysis.CountSent(layer)
		out.PacketsSent += uint64(c.Media)
		w.PublisherRTX += uint64(c.RTX)
		w.PublisherMediaBytes += uint64(c.MediaBytes)
	}
	out.Wire = w
	return rec
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mouthToEar is the network part of a stream's mouth-to-ear delay: the
// measured time from the publisher's send to the receiver's arrival, or
// half the receiver's RTT when no packet could be matched.
func mouthToEar(l streamLogs, rttMS *float64) time.Duration {
	if len(l.layers) > 0 {
		if d, ok := analysis.OneWayDelay(l.arrivals, l.layers[0]); ok {
			return d
		}
	}
	if rttMS != nil && !math.IsNaN(*rttMS) {
		return time.Duration(*rttMS / 2 * float64(time.Millisecond))
	}
	return 0
}
