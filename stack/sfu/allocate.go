package sfu

import (
	"sort"
	"strings"
	"time"

	"github.com/pion/rtcp"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/stack/peer"
)

// allocateEvery is how often layer bitrates are measured and every
// subscriber's layers chosen: 200 ms, and in virtual time a derived
// sub-millisecond more that keeps the ticks off the media and RTCP clocks.
func (s *SFU) allocateEvery() time.Duration { return phase.AllocateEvery.For(s.p.Virtual) }

// rateSmoothing is the weight of the newest measurement in a layer's
// bitrate (an exponential moving average; a keyframe makes one period's
// rate jump several-fold).
const rateSmoothing = 0.2

// allocate measures every layer's bitrate and chooses each subscriber's
// simulcast layers from its bandwidth estimate. Serve loop only. Layer
// rates count RTP payload bytes only, as pion's GCC does for its estimate.
func (s *SFU) allocate(now time.Time) {
	for _, p := range s.tracks {
		p.mu.RLock()
		for _, l := range p.layers {
			b := l.bytes.Load()
			r := float64(b-l.lastSeen) * 8 / s.allocateEvery().Seconds()
			l.lastSeen = b
			if l.rate == 0 {
				l.rate = r
			} else {
				l.rate += rateSmoothing * (r - l.rate)
			}
		}
		p.mu.RUnlock()
	}
	for _, name := range s.peerNames() {
		sub := s.peers[name]
		est, ok := sub.pc.Estimate()
		if !ok || !sub.connected.Load() {
			continue
		}
		s.mu.Lock()
		s.estimates[name] = est
		s.mu.Unlock()
		budget := float64(est)
		var simul []*downTrack
		for _, p := range s.tracks {
			d := sub.downs[p]
			if d == nil {
				continue
			}
			if p.simulcast() {
				simul = append(simul, d)
				continue
			}
			budget -= p.rates()[0]
			if i, wait := d.waiting(); wait {
				s.requestKeyframe(p, i) // throttled per layer
			}
		}
		simBudget := budget
		for _, d := range simul {
			rates := d.pub.rates()
			target := d.sel.choose(simBudget/float64(len(simul)), rates, now)
			if d.setTarget(target) {
				s.log.Debug("sfu: layer", "subscriber", name, "publisher", d.pub.publisher, "target", d.pub.rid(target), "estimate", est)
			}
			if i, wait := d.waiting(); wait {
				s.requestKeyframe(d.pub, i) // a PLI on every switch; throttled per layer
			}
		}
		s.probe(sub, est, simul, now)
	}
}

// readFeedback drains a subscriber's RTCP for one track (pion needs it read
// for its interceptors to run) and sends keyframe requests on.
func (s *SFU) readFeedback(d *downTrack) {
	defer s.wg.Done()
	buf := make([]byte, peer.ReceiveMTU)
	for {
		pkts, err := peer.ReadRTCP(d.sender.Read, buf)
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				i, _ := d.waiting()
				s.requestKeyframe(d.pub, i)
			}
		}
	}
}

// Negotiation is the outcome of offering one published track to one
// subscriber.
type Negotiation struct {
	// Publisher and Subscriber name the two ends.
	Publisher, Subscriber string
	// Kind is "audio" or "video".
	Kind string
	// Codec is the publisher's codec (MIME type).
	Codec string
	// OK is true when the track was offered to the subscriber.
	OK bool
	// Reason says why not, when OK is false.
	Reason string
}

func (s *SFU) addNegotiation(n Negotiation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.negotiations = append(s.negotiations, n)
}

// Negotiations returns what was offered to whom, and what was refused.
func (s *SFU) Negotiations() []Negotiation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Negotiation(nil), s.negotiations...)
}

// DownTracks returns what every subscriber receives, sorted by publisher,
// subscriber and kind.
func (s *SFU) DownTracks() []DownTrack {
	s.mu.Lock()
	pubs := make([]*published, 0, len(s.pubs))
	for _, p := range s.pubs {
		pubs = append(pubs, p)
	}
	s.mu.Unlock()
	var out []DownTrack
	for _, p := range pubs {
		p.mu.RLock()
		downs := append([]*downTrack(nil), p.downs...)
		p.mu.RUnlock()
		for _, d := range downs {
			out = append(out, d.info())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Publisher != b.Publisher {
			return a.Publisher < b.Publisher
		}
		if a.Subscriber != b.Subscriber {
			return a.Subscriber < b.Subscriber
		}
		return a.Kind < b.Kind
	})
	return out
}

// Estimate returns the SFU's last bandwidth estimate towards subscriber,
// in bits per second (GCC on TWCC feedback), and false before the first.
func (s *SFU) Estimate(subscriber string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.estimates[subscriber]
	return v, ok
}

// SendLog returns what the SFU put on the wire towards peer on the media
// SSRC ssrc (and its RTX SSRC): see peer.PC.SendLog.
func (s *SFU) SendLog(peerName string, ssrc uint32) (log []analysis.Packet, rtx uint32, ok bool, err error) {
	s.mu.Lock()
	pc := s.pcs[peerName]
	s.mu.Unlock()
	if pc == nil {
		return nil, 0, false, nil
	}
	return pc.SendLog(ssrc)
}

// SendLogView is SendLog's log as it is now, to be decoded later.
func (s *SFU) SendLogView(peerName string, ssrc uint32) (log analysis.PacketView, rtx uint32, ok bool) {
	s.mu.Lock()
	pc := s.pcs[peerName]
	s.mu.Unlock()
	if pc == nil {
		return analysis.PacketView{}, 0, false
	}
	return pc.SendLogView(ssrc)
}

// offeredCodecs lists the codecs of an SDP offer per media kind, as MIME
// types in the offer's order (RFC 4566 section 6, a=rtpmap), leaving out
// the retransmission and redundancy formats that are no codecs.
func offeredCodecs(sdp string) map[string][]string {
	out := map[string][]string{}
	kind := ""
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "m="):
			kind = strings.Fields(strings.TrimPrefix(line, "m="))[0]
		case strings.HasPrefix(line, "a=rtpmap:") && kind != "":
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			name := strings.SplitN(f[1], "/", 2)[0]
			switch strings.ToLower(name) {
			case "rtx", "red", "ulpfec", "flexfec-03":
				continue
			}
			mime := kind + "/" + name
			if !containsFold(out[kind], mime) {
				out[kind] = append(out[kind], mime)
			}
		}
	}
	return out
}

func containsFold(xs []string, x string) bool {
	for _, y := range xs {
		if strings.EqualFold(x, y) {
			return true
		}
	}
	return false
}
