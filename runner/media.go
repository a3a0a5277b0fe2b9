package runner

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/agent"
	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/sfu"
)

// publishedClips returns the clips participant p sends: one per entry of
// Publish (video in p.Video's codec), or, with simulcast, the video as the
// three simulcast layers instead.
func publishedClips(p scenarios.Participant, clips map[string]*clip.Clip) (single, simulcast []*clip.Clip) {
	keys, layers := clipKeys(p)
	for _, k := range keys {
		single = append(single, clips[k])
	}
	for _, k := range layers {
		simulcast = append(simulcast, clips[k])
	}
	return single, simulcast
}

// clipKeys returns the clipFiles keys of the clips participant p sends,
// as publishedClips hands them out.
func clipKeys(p scenarios.Participant) (single, simulcast []string) {
	for _, m := range p.Publish {
		switch {
		case m == "video" && p.Simulcast:
			for _, rid := range agent.SimulcastRIDs {
				simulcast = append(simulcast, "simulcast/"+rid)
			}
		case m == "video" && p.Video != "":
			single = append(single, "video/"+p.Video)
		default:
			single = append(single, m)
		}
	}
	return single, simulcast
}

// mediaState is what the runner measures of the media beyond packets:
// frames per second, the simulcast layer each subscriber receives and the
// SFU's bandwidth estimate towards it.
type mediaState struct {
	downs []sfu.DownTrack // the SFU's last view
}

// fpsWindow is the window of the frames-per-second series.
const fpsWindow = time.Second

// sample records one sampling step's media series.
func (m *mediaState) sample(now time.Time, r *run, streams []*streamTrack) {
	for _, st := range streams {
		if st.rx.Kind != "video" {
			continue
		}
		if shown, started := st.rx.ShownWithin(now, fpsWindow); started {
			r.rec.Sample(now, "fps "+st.name, "fps", "frames/s", float64(shown))
		}
	}
	if r.currentSFU() == nil {
		return
	}
	m.downs = r.currentSFU().DownTracks()
	for _, d := range m.downs {
		if len(d.Layers) > 1 && d.Layer >= 0 {
			r.rec.Sample(now, fmt.Sprintf("layer %s->%s %s", d.Publisher, d.Subscriber, d.Kind), "simulcast_layer", "layer", float64(d.Layer))
		}
	}
	receives := map[string]bool{}
	for _, d := range m.downs {
		receives[d.Subscriber] = true
	}
	for _, ar := range r.agents {
		if est, ok := r.currentSFU().Estimate(ar.p.Name); ok && receives[ar.p.Name] {
			r.rec.Sample(now, "estimate sfu->"+ar.p.Name, "sfu_estimate_kbps", "kbps", round(float64(est)/1000, 1))
		}
	}
}

// down returns the SFU's view of the stream st, if any.
func (m *mediaState) down(st *streamTrack) (sfu.DownTrack, bool) {
	for _, d := range m.downs {
		if d.Publisher == st.rx.From && d.Subscriber == st.owner.p.Name && d.Kind == st.rx.Kind {
			return d, true
		}
	}
	return sfu.DownTrack{}, false
}

// joinedAt returns when participant name joined, and false if unknown.
func (r *run) joinedAt(name string) (time.Time, bool) {
	for _, ar := range r.agents {
		if ar.p.Name == name {
			return ar.start, true
		}
	}
	return time.Time{}, false
}

// videoStats measures what the receiver of st saw, over the whole time the
// stream should have played.
func (r *run) videoStats(st *streamTrack, logs streamLogs, rec analysis.Reception) *reports.VideoStream {
	frames, err := st.rx.Frames()
	r.readFailed(err)
	v := &reports.VideoStream{FramesReceived: len(frames), Layers: []string{}, LayerSwitches: []reports.LayerSwitch{}, Freezes: []reports.FreezeInterval{}}
	var shown []time.Duration
	for _, f := range frames {
		if f.Decodable {
			shown = append(shown, f.At.Sub(r.start))
		}
	}
	pb := analysis.AnalyzePlayback(shown, r.playSpan(st, logs))
	v.FramesShown = pb.Frames
	v.FPS = round(pb.MeanFPS, 2)
	v.HarmonicFPS = round(pb.HarmonicFPS, 2)
	v.FreezeCount = len(pb.Freezes)
	v.FreezeMS = round(ms(pb.FreezeTime), 1)
	for _, f := range pb.Freezes {
		v.Freezes = append(v.Freezes, reports.FreezeInterval{StartS: round(f.Start.Seconds(), 3), DurationMS: round(ms(f.Duration), 1)})
	}
	v.MeanTimeBetweenFreezesMS = round(ms(pb.MeanTimeBetweenFreezes), 1)
	if pb.FirstFrame >= 0 {
		both := st.owner.start
		if pub, ok := r.joinedAt(st.rx.From); ok && pub.After(both) {
			both = pub
		}
		ms := round(float64(r.start.Add(pb.FirstFrame).Sub(both))/float64(time.Millisecond), 1)
		v.TimeToFirstFrameMS = &ms
	}
	plis := st.rx.KeyframeRequests()
	v.KeyframeRequests = len(plis)
	if lat, ok := keyframeLatency(plis, frames); ok {
		ms := round(float64(lat)/float64(time.Millisecond), 1)
		v.KeyframeLatencyMS = &ms
	}
	v.PacketsRepaired = int64(rec.Repaired)
	if d, ok := r.media.down(st); ok && len(d.Layers) > 1 {
		v.Layers = d.Layers
		if d.Layer >= 0 {
			v.Layer = d.Layers[d.Layer]
		}
		for _, sw := range d.Switches {
			v.LayerSwitches = append(v.LayerSwitches, reports.LayerSwitch{
				T: round(sw.At.Sub(r.start).Seconds(), 3), From: sw.From, To: sw.To,
				WaitMS: round(float64(sw.At.Sub(sw.Requested))/float64(time.Millisecond), 1),
			})
		}
	}
	return v
}

// keyframeLatency returns the longest time from a keyframe request to the
// next shown keyframe; a request never answered counts until the last
// frame.
func keyframeLatency(plis []time.Time, frames []agent.Frame) (time.Duration, bool) {
	if len(plis) == 0 || len(frames) == 0 {
		return 0, false
	}
	var worst time.Duration
	for _, p := range plis {
		lat := frames[len(frames)-1].At.Sub(p)
		for _, f := range frames {
			if f.Keyframe && f.Decodable && !f.At.Before(p) {
				lat = f.At.Sub(p)
				break
			}
		}
		worst = max(worst, lat)
	}
	return worst, true
}

// audioStats measures what the listener of st heard: concealed gaps
// (runs of packets lost by the end of the call; a late packet is held by
// the jitter buffer, not concealed) and an E-model MOS from the stream's
// mouth-to-ear delay, the RFC 3550 jitter and the loss after repair.
func (r *run) audioStats(st *streamTrack, out reports.Stream, logs streamLogs, rec analysis.Reception) *reports.AudioStream {
	const frameDur = 20 * time.Millisecond
	if st.rx.Undecrypted() > 0 {
		// A frame end-to-end encryption could not open never reached
		// the decoder: the listener heard it as lost.
		frames, err := st.rx.Frames()
		r.readFailed(err)
		rec = analysis.Receive(heard(logs.arrivals, frames), logs.hop)
	}
	a := &reports.AudioStream{
		PacketsLost: uint64(rec.Lost), LatePackets: uint64(rec.Late), ConcealmentEvents: rec.LossRuns,
		LongestGapMS: ms(time.Duration(rec.LongestRun) * frameDur),
	}
	loss := 0.0
	if rec.Expected > 0 {
		loss = rec.LossFraction()
	}
	e := analysis.EstimateMOS(analysis.EModelInput{
		OneWayDelay: mouthToEar(logs, out.RTTMS),
		Jitter:      time.Duration(out.JitterMS * float64(time.Millisecond)),
		Loss:        loss,
		BurstR:      burstRatio(loss, rec.LossRuns, uint64(rec.Lost)),
	})
	a.MouthToEarMS = round(ms(e.Delay), 1)
	a.R, a.MOS = round(e.R, 2), round(e.MOS, 2)
	return a
}

// heard returns the arrivals whose frame was decoded: without the
// packets of frames that were not (an Opus frame is one packet, known by
// its RTP timestamp).
func heard(arrivals []analysis.Packet, frames []agent.Frame) []analysis.Packet {
	lost := map[uint32]bool{}
	for _, f := range frames {
		if !f.Decodable {
			lost[f.Timestamp] = true
		}
	}
	out := make([]analysis.Packet, 0, len(arrivals))
	for _, p := range arrivals {
		if !lost[p.Timestamp] {
			out = append(out, p)
		}
	}
	return out
}

// playSpan is when the stream st should have played: from the last hop's
// first media packet on the wire (or, without one, when both ends had
// joined) to the end of the call, with the publisher's frame interval and
// the arrival of the first media packet, when the first picture was due.
func (r *run) playSpan(st *streamTrack, logs streamLogs) analysis.PlaySpan {
	start := st.owner.start
	if pub, ok := r.joinedAt(st.rx.From); ok && pub.After(start) {
		start = pub
	}
	for _, p := range logs.hop {
		if !p.RTX && !p.Padding {
			start = p.At
			break
		}
	}
	span := analysis.PlaySpan{Start: start.Sub(r.start), End: r.ended}
	if next, ok := r.supersededAt(st); ok {
		span.End = next.Sub(r.start) // the viewer watches the new one from then on
	}
	if snd, _ := r.streamSender(st); snd != nil && snd.Clip.Frames() > 0 {
		span.FrameInterval = snd.Clip.Duration() / time.Duration(snd.Clip.Frames())
	} else if r.publishesFromBrowser(st.rx.From) {
		// A browser publisher: no clip, so the interval its RTP
		// timestamps step by. Without one a stream that showed 3
		// frames in 20 s (Chromium's camera to a 600 kbit/s viewer)
		// had fewer than libwebrtc's 5 gaps to judge: 0 freezes.
		span.FrameInterval = analysis.FrameInterval(logs.arrivals, st.rx.ClockRate())
	}
	for _, p := range logs.arrivals {
		if !p.Padding {
			span.FirstDue = p.At.Sub(r.start)
			break
		}
	}
	return span
}

// publishesFromBrowser is true when name is a Chromium participant: its
// camera is no clip rtclab knows.
func (r *run) publishesFromBrowser(name string) bool {
	for _, p := range r.s.Participants {
		if p.Name == name {
			return p.IsChromium()
		}
	}
	return false
}

// burstRatio is G.107's BurstR from the observed loss runs: the mean run
// length over the mean run length random loss at the same rate would give
// (1 / (1 − p)).
func burstRatio(p float64, runs int, lost uint64) float64 {
	if runs == 0 || p <= 0 || p >= 1 {
		return 1
	}
	return math.Max(1, float64(lost)/float64(runs)*(1-p))
}

// negotiations returns what the SFU offered to whom.
func (r *run) negotiations() []reports.Negotiation {
	if r.currentSFU() == nil {
		return nil
	}
	var out []reports.Negotiation
	for _, n := range r.currentSFU().Negotiations() {
		out = append(out, reports.Negotiation{
			Publisher: n.Publisher, Subscriber: n.Subscriber, Kind: n.Kind, Codec: n.Codec, OK: n.OK, Reason: n.Reason,
		})
	}
	slices.SortStableFunc(out, func(a, b reports.Negotiation) int {
		switch {
		case a.Publisher != b.Publisher:
			return cmpString(a.Publisher, b.Publisher)
		case a.Subscriber != b.Subscriber:
			return cmpString(a.Subscriber, b.Subscriber)
		}
		return cmpString(a.Kind, b.Kind)
	})
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// layerMin is the lowest layer received after the first time the layer
// went up, or from the start when the first layer was the top one (the
// SFU had chosen it before the subscriber's track was negotiated); NaN
// when it never went up or the track is not simulcast.
func layerMin(v *reports.VideoStream) float64 {
	low, up, prev := math.NaN(), false, -1
	top := float64(len(v.Layers) - 1)
	for _, sw := range v.LayerSwitches {
		i := float64(slices.Index(v.Layers, sw.To))
		switch {
		case !up && (prev >= 0 && i > float64(prev) || prev < 0 && top > 0 && i == top):
			up, low = true, i
		case up && i < low:
			low = i
		}
		prev = int(i)
	}
	return low
}

// layerAt is the simulcast layer received at scenario time at (the end
// when at is 0): the last switch at or before it. NaN when the track is
// not simulcast or no layer had arrived yet.
func layerAt(v *reports.VideoStream, at, end time.Duration) float64 {
	if v == nil || len(v.Layers) < 2 {
		return math.NaN()
	}
	if at == 0 {
		at = end
	}
	layer := math.NaN()
	for _, sw := range v.LayerSwitches {
		if sw.T > at.Seconds() {
			break
		}
		layer = float64(slices.Index(v.Layers, sw.To))
	}
	return layer
}

// negotiatedValues evaluates the "negotiated" metric: one value per
// negotiation matching the expectation's from/to/kind.
func negotiatedValues(rep *reports.Report, e scenarios.Expectation) (names []string, values []float64) {
	for _, n := range rep.Negotiations {
		if (e.From != "" && n.Publisher != e.From) || (e.To != "" && n.Subscriber != e.To) || (e.Kind != "" && n.Kind != e.Kind) {
			continue
		}
		name := fmt.Sprintf("negotiated %s->%s %s (%s)", n.Publisher, n.Subscriber, n.Kind, n.Codec)
		if !n.OK {
			name += ": " + n.Reason
		}
		names = append(names, name)
		values = append(values, boolValue(n.OK))
	}
	return names, values
}
