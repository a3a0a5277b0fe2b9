package runner

import (
	"math"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/stack/agent"
)

// streamLogs is what a received stream's metrics are computed from: the
// receiver's arrival log and the send logs of what was put on the wire
// (see analysis.Packet), as they were when the run ended (logViews),
// decoded by a logReader into arrays it reuses for the next stream.
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

// logViews are a received stream's logs (streamLogs) as they were when
// the call ended, not decoded: the report decodes one stream at a time, so
// its heap holds one stream's packets, not the whole call's (issue #17).
type logViews struct {
	arrivals  analysis.PacketView
	hop       analysis.PacketView
	hopRTX    uint32
	hopSender string
	layers    []analysis.PacketView
	ssrcs     []uint32
	rtxSSRCs  []uint32
}

// logs takes the views of every received stream's logs.
func (s *sampler) logs() map[*agent.Receiver]logViews {
	out := map[*agent.Receiver]logViews{}
	for _, st := range s.order {
		l := logViews{arrivals: st.rx.ArrivalView()}
		if s.r.currentSFU() != nil {
			l.hopSender = "sfu"
			l.hop, l.hopRTX, _ = s.r.currentSFU().SendLogView(st.owner.p.Name, st.rx.SSRC)
		}
		if snd, conn := s.r.streamSender(st); snd != nil {
			for _, enc := range snd.RTP.GetParameters().Encodings {
				log, rtx, _ := conn.PC.SendLogView(uint32(enc.SSRC))
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

// reportGCBytes is how much the report may allocate before logReader
// collects: the bubble's collector is off (package bubble), so without it
// every stream's decoded packets and the analyses of them stayed on the
// heap to the end of the report (a 20-minute call's report allocated
// about 200 MB on a 25 MB heap).
const reportGCBytes = 32 << 20

// logReader decodes the logs of one stream at a time into arrays it
// reuses: what read returns is valid until the next read, and nothing
// may keep it. Between streams it collects the garbage the report made
// once there is more than reportGCBytes of it (the call is over: a
// collection here reorders nothing the numbers depend on).
type logReader struct {
	r      *run
	buf    streamLogs
	other  []analysis.Packet // one more arrival log, for supersededAt
	allocs uint64            // bytes allocated by the process at the last collection
	// sample reads the bytes allocated so far and the heap's size.
	sample []metrics.Sample
}

func newLogReader(r *run) *logReader {
	d := &logReader{r: r, sample: []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}}
	d.allocs, _ = d.read2()
	return d
}

// read2 returns the bytes allocated so far and the heap's size now.
func (d *logReader) read2() (allocated, heap uint64) {
	metrics.Read(d.sample)
	if d.sample[0].Value.Kind() == metrics.KindUint64 {
		allocated = d.sample[0].Value.Uint64()
	}
	if d.sample[1].Value.Kind() == metrics.KindUint64 {
		heap = d.sample[1].Value.Uint64()
	}
	return allocated, heap
}

// collect runs the collector when the report allocated more than
// reportGCBytes since the last time. The report calls it between the
// steps that allocate in proportion to a stream's packets.
func (d *logReader) collect() {
	now, heap := d.read2()
	if h := d.r.opt.hooks; h != nil && h.reportHeap != nil {
		h.reportHeap(heap)
	}
	if now-d.allocs > reportGCBytes {
		runtime.GC()
		d.allocs, _ = d.read2()
	}
}

// done tells a test hook the heap's size at the end of the report.
func (d *logReader) done() {
	if h := d.r.opt.hooks; h != nil && h.reportHeap != nil {
		_, heap := d.read2()
		h.reportHeap(heap)
	}
}

// read decodes v (see logReader).
func (d *logReader) read(v logViews) streamLogs {
	d.collect()
	b := &d.buf
	b.arrivals = d.decode(v.arrivals, b.arrivals)
	b.hop = d.decode(v.hop, b.hop)
	for i, l := range v.layers {
		if i == len(b.layers) {
			b.layers = append(b.layers, nil)
		}
		b.layers[i] = d.decode(l, b.layers[i])
	}
	return streamLogs{
		arrivals: b.arrivals, hop: b.hop, hopRTX: v.hopRTX, hopSender: v.hopSender,
		layers: b.layers[:len(v.layers)], ssrcs: v.ssrcs, rtxSSRCs: v.rtxSSRCs,
	}
}

// arrivals decodes only the arrival log of v, into an array of its own
// (valid until the next call), for a look at another stream while one is
// read.
func (d *logReader) arrivals(v logViews) []analysis.Packet {
	d.other = d.decode(v.arrivals, d.other)
	return d.other
}

// appendArrivals decodes the arrival log of v onto dst.
func (d *logReader) appendArrivals(dst []analysis.Packet, v logViews) []analysis.Packet {
	if cap(dst)-len(dst) < v.arrivals.Len() {
		dst = append(make([]analysis.Packet, 0, len(dst)+v.arrivals.Len()), dst...)
	}
	out, err := v.arrivals.AppendTo(dst)
	d.r.readFailed(err)
	return out
}

func (d *logReader) decode(v analysis.PacketView, into []analysis.Packet) []analysis.Packet {
	if cap(into) < v.Len() {
		into = make([]analysis.Packet, 0, v.Len())
	}
	out, err := v.AppendTo(into[:0])
	d.r.readFailed(err)
	return out
}

// publisherSender returns the sender of publisher pub's track of kind
// that reaches receiver to (through the SFU, or directly in p2p), and its
// connection; nil when there is none.
func (r *run) publisherSender(pub, to, kind string) (*agent.Sender, *agent.Conn) {
	return r.publisherSenderAt(pub, to, kind, 1)
}

// publisherSenderAt is publisherSender on pub's n-th connection to the SFU
// or to (counted from 1): after an SFU restart a publisher has one per
// incarnation of the SFU, and a stream's n-th incarnation came from the
// n-th (reports.Stream.Connection).
func (r *run) publisherSenderAt(pub, to, kind string, n int) (*agent.Sender, *agent.Conn) {
	for _, ar := range r.agents {
		if ar.p.Name != pub {
			continue
		}
		for _, c := range ar.a.Conns() {
			if c.Remote != "sfu" && c.Remote != to {
				continue
			}
			for _, snd := range c.Senders() {
				if snd.Clip.Kind() != kind {
					continue
				}
				if n--; n == 0 {
					return snd, c
				}
				break
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
