package runner

import (
	"fmt"
	"math"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/probes"
	"github.com/rtclab/rtclab/stack/agent"
)

// sampleEvery is the sampling period of every series.
const sampleEvery = analysis.Resolution

// window is how many samples the rate and loss series average over (1 s):
// a 100 ms window holds only a handful of packets and is mostly noise.
const window = 10

// sampler turns the agents' counters into time series.
type sampler struct {
	r       *run
	streams map[*agent.Receiver]*streamTrack
	order   []*streamTrack
	rtts    map[*agent.Conn][]float64
}

type streamTrack struct {
	owner     *agentRun
	conn      *agent.Conn
	rx        *agent.Receiver
	name      string
	history   []agent.SeqCounts // the last window+1 samples
	firstData time.Time
}

func newSampler(r *run) *sampler {
	return &sampler{r: r, streams: map[*agent.Receiver]*streamTrack{}, rtts: map[*agent.Conn][]float64{}}
}

// sample reads every counter once and appends to the series.
func (s *sampler) sample(now time.Time) {
	for _, ar := range s.r.agents {
		for _, c := range ar.a.Conns() {
			s.sampleRTT(now, ar, c)
			for _, rx := range c.Receivers() {
				st := s.streams[rx]
				if st == nil {
					st = &streamTrack{owner: ar, conn: c, rx: rx, name: fmt.Sprintf("%s->%s %s", rx.From, ar.p.Name, rx.Kind)}
					if n := s.incarnations(st); n > 1 {
						// A second connection's stream (an SFU restart)
						// has series of its own.
						st.name += fmt.Sprintf(" #%d", n)
					}
					s.streams[rx] = st
					s.order = append(s.order, st)
				}
				s.sampleStream(now, st)
			}
		}
	}
	s.r.media.sample(now, s.r, s.order)
}

// incarnations counts st and the streams of the same publisher, receiver
// and kind sampled before it.
func (s *sampler) incarnations(st *streamTrack) int {
	n := 1
	for _, o := range s.order {
		if o.rx.From == st.rx.From && o.owner == st.owner && o.rx.Kind == st.rx.Kind {
			n++
		}
	}
	return n
}

func (s *sampler) sampleStream(now time.Time, st *streamTrack) {
	in := st.rx.Counts()
	if in.Unique > 0 && st.firstData.IsZero() {
		st.firstData = now
	}
	st.history = append(st.history, in)
	if len(st.history) > window+1 {
		st.history = st.history[1:]
	}
	old := st.history[0]
	span := float64(len(st.history)-1) * sampleEvery.Seconds()
	if span == 0 {
		return
	}
	kbps := float64(in.Bytes-old.Bytes) * 8 / 1000 / span
	s.r.rec.Sample(now, "bitrate "+st.name, "bitrate_kbps", "kbps", round(kbps, 1))
	// The loss series is drawn after the call (truthSeries): only then is
	// it known what was repaired and what never came.
}

// sampleRTT records the connection's round-trip time: from RTCP receiver
// reports of what the agent sends when it sends anything, else from the
// ICE pair's STUN consent checks.
func (s *sampler) sampleRTT(now time.Time, ar *agentRun, c *agent.Conn) {
	rtt, ok := connRTT(c)
	if !ok {
		return
	}
	s.rtts[c] = append(s.rtts[c], rtt)
	s.r.rec.Sample(now, fmt.Sprintf("rtt %s<->%s", ar.p.Name, c.Remote), "rtt_ms", "ms", round(rtt, 2))
}

func connRTT(c *agent.Conn) (float64, bool) {
	var sum float64
	var n int
	for _, snd := range c.Senders() {
		ssrc := snd.SSRC()
		if out, ok := probes.ReadOutbound(c.PC.Stats, ssrc); ok && out.RTTMeasurements > 0 {
			sum += out.RTTMS
			n++
		}
	}
	if n > 0 {
		return sum / float64(n), true
	}
	return probes.SelectedPairRTT(c.PC.PeerConnection)
}

// snapshot is everything the report needs, taken before the stack closes.
type snapshot struct {
	pairs   map[*agent.Conn]probes.Pair
	inbound map[*agent.Receiver]probes.Inbound
	ice     map[*agent.Conn]probes.ICE
	logs    map[*agent.Receiver]logViews
}

func (s *sampler) snapshot() *snapshot {
	snap := &snapshot{
		pairs:   map[*agent.Conn]probes.Pair{},
		inbound: map[*agent.Receiver]probes.Inbound{},
		ice:     map[*agent.Conn]probes.ICE{},
		logs:    s.logs(),
	}
	for _, ar := range s.r.agents {
		for _, c := range ar.a.Conns() {
			if p, ok := probes.SelectedPair(c.PC.PeerConnection); ok {
				snap.pairs[c] = p
			}
			if st, ok := probes.ReadICE(c.PC.PeerConnection); ok {
				snap.ice[c] = st
			}
			for _, rx := range c.Receivers() {
				if in, ok := probes.ReadInbound(c.PC.Stats, rx.SSRC); ok {
					snap.inbound[rx] = in
				}
			}
		}
	}
	return snap
}

func meanOrNaN(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return analysis.Mean(xs)
}
