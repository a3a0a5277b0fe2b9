package runner

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/probes"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// report assembles the report from what the run measured. It works on a
// run that stopped at any point, even before the network existed.
func (r *run) report() *reports.Report {
	s := r.s
	r.reader = newLogReader(r)
	recovery := r.recovery() // adds its events before they are read
	rep := &reports.Report{
		Schema: reports.Schema,
		Tool:   r.opt.Tool,
		Scenario: reports.ScenarioInfo{
			Name: s.Name, File: s.File, Description: s.Description, Topology: s.Topology,
			Clock: r.opt.Clock, Backend: kernelName(s), Seed: s.Seed, DurationS: s.Duration.Seconds(),
		},
		Participants: []reports.Participant{},
		Streams:      []reports.Stream{},
		Series:       r.rec.Series(),
		Events:       r.rec.Events(),
	}
	// Recovery events are recorded after the call at the instants they
	// name: keep the list in time order.
	slices.SortStableFunc(rep.Events, func(a, b analysis.Event) int { return cmp.Compare(a.T, b.T) })
	if r.opt.Clock == ClockReal && !r.countedAt.IsZero() {
		rep.Scenario.CountedAt = r.countedAt.UTC().Format(time.RFC3339Nano)
	}
	snap := r.final
	if snap == nil && r.sampler != nil {
		snap = r.sampler.snapshot()
	}
	for _, ar := range r.agents {
		rep.Participants = append(rep.Participants, r.participant(ar, snap, rep.Events))
	}
	r.browserReport(rep) // before silentStreams, which adds what no one received
	if r.sampler != nil {
		seen := map[streamKey]int{}
		for _, st := range r.sampler.order {
			out := r.stream(st, snap)
			k := streamKey{out.From, out.To, out.Kind}
			if seen[k]++; seen[k] > 1 {
				out.Connection = seen[k]
			}
			rep.Streams = append(rep.Streams, out)
		}
		rep.Streams = append(rep.Streams, r.silentStreams(rep.Streams)...)
	}
	slices.SortFunc(rep.Streams, func(a, b reports.Stream) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Connection, b.Connection))
	})
	setRecovery(rep.Streams, recovery)
	rep.Series = r.truthSeries(rep.Series, rep.Streams, snap)
	rep.Negotiations = r.negotiations()
	if rep.Privacy = r.privacy.report(); rep.Privacy != nil {
		for i := range rep.Participants {
			n := rep.Privacy.ExposedAddresses(rep.Participants[i].Name)
			rep.Participants[i].AddressesExposed = &n
		}
	}
	rep.Checks = append(r.checks(rep), r.deliveryChecks(rep)...)
	rep.Verdict = analysis.OverallVerdict(rep.Checks)
	r.reader.done()
	return rep
}

func (r *run) participant(ar *agentRun, snap *snapshot, events []analysis.Event) reports.Participant {
	p := reports.Participant{Name: ar.p.Name, NAT: ar.p.NAT.String(), Address: ar.host.IP.String()}
	conns := ar.a.Conns()
	if len(conns) == 0 {
		return p
	}
	c := conns[0]
	// The path is the latest connection's: after an SFU restart (a
	// timeline fault) the first one is closed.
	last := conns[len(conns)-1]
	p.Peer = c.Remote
	pr := measurePresence(events, p.Name, c.Remote, r.s.Duration.Seconds())
	p.Connected, p.ConnectedFraction, p.Dropped = pr.stayed, pr.fraction, pr.drop
	if at, ok := c.ConnectedAt(); ok {
		ms := round(float64(at.Sub(ar.start).Microseconds())/1000, 1)
		p.TimeToConnectMS = &ms
	}
	if snap != nil {
		if pair, ok := snap.pairs[last]; ok {
			p.SelectedPair = &reports.CandidatePair{
				Local: pair.Local, Remote: pair.Remote, Protocol: pair.Protocol, RelayProtocol: pair.RelayProtocol,
				LocalAddress: pair.LocalAddress, RemoteAddress: pair.RemoteAddress,
			}
		}
		if st, ok := snap.ice[last]; ok {
			local, remote, sent := candidateCounts(st.Local), candidateCounts(st.Remote), st.ChecksSent
			p.Candidates, p.RemoteCandidates, p.ChecksSent = &local, &remote, &sent
			if sp := p.SelectedPair; sp != nil && sp.Remote == "prflx" {
				sp.RemoteSignalled, _ = st.SignalledType(sp.RemoteAddress)
			}
		}
	}
	return p
}

func candidateCounts(c probes.CandidateCounts) reports.CandidateCounts {
	return reports.CandidateCounts{Host: c.Host, Srflx: c.Srflx, Prflx: c.Prflx, Relay: c.Relay}
}

func (r *run) stream(st *streamTrack, snap *snapshot) reports.Stream {
	out := reports.Stream{From: st.rx.From, To: st.owner.p.Name, Kind: st.rx.Kind, Codec: st.rx.Codec}
	if snap == nil {
		return out
	}
	in := snap.inbound[st.rx]
	logs := r.reader.read(snap.logs[st.rx])
	var browserPub, browserFound bool
	if len(logs.layers) == 0 {
		browserPub, browserFound = r.browserPublished(&logs, st.rx.From, out.To, out.Kind) // browser_streams.go
	}
	rec := countStream(&out, logs, st.rx.ClockRate())
	switch {
	case browserFound:
		out.Sources = map[string]string{"packets_sent": reports.SourceCapture}
		// The capture cannot read an SRTP payload's length.
		out.Missing = append(out.Missing, "wire.publisher_media_bytes")
	case browserPub:
		out.Missing = append(out.Missing, "packets_sent")
	}
	r.reader.collect() // the counts' sets of sequence numbers are garbage now
	out.Wire.SSRC = st.rx.SSRC
	out.PionJitterMS = round(in.JitterMS, 3)
	out.NACKCount = in.NACKs
	out.PLICount = in.PLIs
	out.BitrateKbps, _ = r.meanBitrate(logs.arrivals, rec.Bytes)
	if rtt := meanOrNaN(r.sampler.rtts[st.conn]); !math.IsNaN(rtt) {
		v := round(rtt, 2)
		out.RTTMS = &v
	}
	if st.rx.Kind == "video" {
		out.Video = r.videoStats(st, logs, rec)
	} else {
		out.Audio = r.audioStats(st, out, logs, rec)
	}
	return out
}

// meanBitrate is a received stream's mean bitrate in kbit/s: bytes (the
// payload of its distinct media packets, repairs included) over the time
// from the first 100 ms sample after the first media packet arrived (the
// arrival log's, not the sampler's first sight of the stream, which can
// be a sample late for a receiver the first sample did not list yet:
// 0.25 % too high a bitrate, audit) to the end of the call; false when
// no media packet arrived in time.
func (r *run) meanBitrate(arrivals []analysis.Packet, bytes int) (float64, bool) {
	for _, p := range arrivals {
		if p.RTX || p.Padding {
			continue
		}
		first := (p.At.Sub(r.start) + sampleEvery - 1).Truncate(sampleEvery)
		if span := (r.ended - first).Seconds(); span > 0 {
			return round(float64(bytes)*8/1000/span, 1), true
		}
		return 0, false
	}
	return 0, false
}

// checks evaluates the scenario's expectations.
func (r *run) checks(rep *reports.Report) []analysis.Check {
	var out []analysis.Check
	var starts []int // out[starts[i]:] came from Expect[i]
	for _, e := range r.s.Expect {
		starts = append(starts, len(out))
		b := analysis.Bound{}
		if e.Min != nil {
			b.Min = &e.Min.Value
		}
		if e.Max != nil {
			b.Max = &e.Max.Value
		}
		if scenarios.ParticipantMetric(e.Metric) {
			n := 0
			for _, p := range rep.Participants {
				if e.Participant != "" && p.Name != e.Participant {
					continue
				}
				n++
				out = append(out, analysis.Evaluate(fmt.Sprintf("%s %s", p.Name, e.Metric), participantValue(p, e.Metric), b))
			}
			if n == 0 {
				out = append(out, analysis.Evaluate(fmt.Sprintf("%s %s", orAll(e.Participant), e.Metric), math.NaN(), b))
			}
			continue
		}
		if e.Metric == "negotiated" {
			names, values := negotiatedValues(rep, e)
			for i := range names {
				out = append(out, analysis.Evaluate(names[i], values[i], b))
			}
			if len(names) == 0 {
				out = append(out, analysis.Evaluate(fmt.Sprintf("negotiated %s->%s %s (no such track was offered)", orAll(e.From), orAll(e.To), orAll(e.Kind)), math.NaN(), b))
			}
			continue
		}
		def, _ := analysis.LookupMetric(e.Metric, false)
		n := 0
		for _, st := range rep.Streams {
			if (e.From != "" && st.From != e.From) || (e.To != "" && st.To != e.To) || (e.Kind != "" && st.Kind != e.Kind) || !def.ExistsFor(st.Kind) {
				continue
			}
			n++
			name := fmt.Sprintf("%s %s->%s %s", e.Metric, st.From, st.To, st.Kind)
			if st.Connection > 1 {
				name += fmt.Sprintf(" (connection %d)", st.Connection)
			}
			v := streamValue(st, e.Metric)
			if e.Metric == "layer" {
				v = layerAt(st.Video, e.At.Duration, r.s.Duration.Duration)
				if e.At.Duration > 0 {
					name += fmt.Sprintf(" at %v", e.At.Duration)
				}
			}
			out = append(out, analysis.Evaluate(name, v, b))
		}
		if n == 0 {
			name := fmt.Sprintf("%s %s->%s %s (no such stream was received)", e.Metric, orAll(e.From), orAll(e.To), orAll(e.Kind))
			out = append(out, analysis.Evaluate(name, math.NaN(), b))
		}
	}
	return append(r.s.Declare(out, starts), carriedNothing(r.s.Expect, rep.Streams)...)
}

func orAll(s string) string {
	if s == "" {
		return "*"
	}
	return s
}
