package runner

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/agent"
	"github.com/rtclab/rtclab/stack/sfu"
)

// The scenario's timeline faults (scenarios.Fault): applyFaults injects
// them as the call runs; recovery measures, after the call, how long each
// affected stream took to get media again.

// faultEffect is how long after a fault an interruption it causes may
// begin, beyond the fault's own gap: packets in flight still arrive, and an
// ICE restart's new path takes a round of checks.
const faultEffect = time.Second

// applyFaults runs the timeline's steps in time order until ctx ends. A
// flap's link changes are in the participant's schedule (applySchedules);
// here it is only announced.
func (r *run) applyFaults(ctx context.Context) {
	order := make([]int, len(r.s.Timeline))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(r.s.Timeline[a].At.Duration, r.s.Timeline[b].At.Duration) })
	for _, i := range order {
		f := r.s.Timeline[i]
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(r.start.Add(f.At.Duration))):
		}
		r.faultMu.Lock()
		if r.faultAt == nil {
			r.faultAt = make([]time.Time, len(r.s.Timeline))
		}
		r.faultAt[i] = time.Now()
		r.faultMu.Unlock()
		r.event("runner", "fault", f.String())
		var err error
		switch f.Kind() {
		case "restart":
			err = r.restart(ctx, f.Restart, f.Gap())
		case "rebind":
			if h, ok := r.net.Host(f.Rebind); ok {
				var n int
				n, err = h.Rebind()
				r.event(f.Rebind, "rebound", fmt.Sprintf("NAT mapping of %d sockets changed", n))
			}
		case "ice_restart":
			for _, ar := range r.agents {
				if ar.p.Name == f.ICERestart {
					ar.a.RestartICE(ctx)
				}
			}
			err = r.restartBrowserICE(ctx, f.ICERestart)
		}
		if err != nil {
			r.event("runner", "error", fmt.Sprintf("%s: %v", f, err))
		}
	}
}

// restart crashes server, waits gap, and starts a fresh one on the same
// address.
func (r *run) restart(ctx context.Context, server string, gap time.Duration) error {
	detail := "state dropped"
	switch server {
	case scenarios.RestartTURN:
		n, err := r.turn.stop()
		if err != nil {
			r.event("turn", "error", err.Error())
		}
		detail = fmt.Sprintf("state dropped: %d allocations", n)
	case scenarios.RestartSignaling:
		r.signaling.crash()
	case scenarios.RestartSFU:
		r.sfuSvc.stop()
	}
	r.event(server, "stopped", detail)
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(gap):
	}
	var err error
	switch server {
	case scenarios.RestartTURN:
		err = r.turn.start()
	case scenarios.RestartSignaling:
		err = r.signaling.start()
	case scenarios.RestartSFU:
		err = r.sfuSvc.start(ctx)
	}
	if err != nil {
		return fmt.Errorf("restart %s: %w", server, err)
	}
	r.event(server, "started", "restarted after "+gap.String())
	return nil
}

func (r *run) setSFU(sf *sfu.SFU) {
	r.sfuMu.Lock()
	defer r.sfuMu.Unlock()
	r.sfu = sf
}

// currentSFU is the SFU serving the room now (the last one started), nil
// in p2p.
func (r *run) currentSFU() *sfu.SFU {
	r.sfuMu.Lock()
	defer r.sfuMu.Unlock()
	return r.sfu
}

// affects reports whether fault f can interrupt the stream from -> to: a
// server's restart every stream, a participant's ICE restart, rebinding or
// flap the streams it sends or receives.
func affects(f scenarios.Fault, from, to string) bool {
	if f.Restart != "" {
		return true
	}
	who := f.ICERestart + f.Rebind + f.Flap
	return who == from || who == to
}

// recovery measures, per stream (every incarnation of from -> to kind
// together: an SFU restart makes new ones), each timeline fault's
// interruption, records an event per fault and stream ("recovered" or
// "not-recovered"), and returns the worst recovery time per stream in
// ms; a stream that never recovered from some fault has NaN.
func (r *run) recovery() map[streamKey]float64 {
	if len(r.s.Timeline) == 0 || r.sampler == nil || r.final == nil {
		return nil
	}
	incarnations := map[streamKey][]logViews{}
	var keys []streamKey
	for _, st := range r.sampler.order {
		k := streamKey{st.rx.From, st.owner.p.Name, st.rx.Kind}
		if _, ok := incarnations[k]; !ok {
			keys = append(keys, k)
		}
		incarnations[k] = append(incarnations[k], r.final.logs[st.rx])
	}
	// A Chromium participant's arrivals come decoded from the capture of
	// its link (browser.go), after the pion receivers' of the same key.
	captured := make(map[streamKey][]analysis.Packet, len(keys))
	for _, k := range keys {
		captured[k] = nil
	}
	keys = r.browserArrivals(captured, keys)
	end := r.start.Add(min(r.ended, r.s.Duration.Duration))
	// A step is measured from when it was applied: a flap's links follow
	// the scenario's clock (applySchedules), the other steps can be held
	// back by the joins or by a restart's `for` before them.
	r.faultMu.Lock()
	applied := slices.Clone(r.faultAt)
	r.faultMu.Unlock()
	window := func(j int, f scenarios.Fault) (time.Time, bool) {
		at := r.start.Add(f.At.Duration)
		if f.Kind() != "flap" && j < len(applied) && applied[j].After(at) {
			at = applied[j]
		}
		return at, !at.After(end) // false: the run stopped before the fault
	}
	// One stream's arrivals at a time (every incarnation's, in order), each
	// fault measured on them; the events are then recorded fault by fault,
	// as they are listed.
	found := make([][]analysis.Interruption, len(keys))
	var arrivals []analysis.Packet
	for i, k := range keys {
		r.reader.collect()
		arrivals = arrivals[:0]
		for _, v := range incarnations[k] {
			arrivals = r.reader.appendArrivals(arrivals, v)
		}
		arrivals = append(arrivals, captured[k]...)
		found[i] = make([]analysis.Interruption, len(r.s.Timeline))
		for j, f := range r.s.Timeline {
			if at, ok := window(j, f); ok && affects(f, k.from, k.to) {
				found[i][j] = analysis.Recover(arrivals, analysis.FaultWindow{Fault: at, Window: f.Gap() + faultEffect, End: end})
			}
		}
	}
	out := map[streamKey]float64{}
	for j, f := range r.s.Timeline {
		at, ok := window(j, f)
		if !ok {
			continue
		}
		for i, k := range keys {
			if !affects(f, k.from, k.to) {
				continue
			}
			in := found[i][j]
			name := fmt.Sprintf("%s->%s %s", k.from, k.to, k.kind)
			worst, seen := out[k]
			if !in.Recovered {
				r.rec.Event(at.Add(in.Gap), "runner", "not-recovered",
					fmt.Sprintf("%s: no media for %.0f ms after %s, to the end of the call", name, ms(in.Gap), f))
				out[k] = math.NaN()
				continue
			}
			v := round(ms(in.Recovery), 1)
			how := "not interrupted"
			if in.Gap > 0 {
				how = fmt.Sprintf("media interrupted for %.1f ms", ms(in.Gap))
			}
			r.rec.Event(at.Add(in.Recovery), "runner", "recovered", fmt.Sprintf("%s: %.1f ms after %s (%s)", name, v, f, how))
			if !seen || (!math.IsNaN(worst) && v > worst) {
				out[k] = v
			}
		}
	}
	return out
}

// setRecovery fills each stream's RecoveryMS from recovery's values.
func setRecovery(streams []reports.Stream, rec map[streamKey]float64) {
	for i := range streams {
		st := &streams[i]
		if v, ok := rec[streamKey{st.From, st.To, st.Kind}]; ok && !math.IsNaN(v) {
			st.RecoveryMS = &v
		}
	}
}

// streamKey names a stream across incarnations.
type streamKey struct{ from, to, kind string }

// supersededAt returns when a later incarnation of st's stream (the same
// publisher, receiver and kind on a new connection, after an SFU restart)
// delivered its first media packet: the player shows that one from then
// on, so st's playback ends there, and the freeze across the restart is
// counted once, in st.
func (r *run) supersededAt(st *streamTrack) (time.Time, bool) {
	if r.sampler == nil || r.final == nil {
		return time.Time{}, false
	}
	k := streamKey{st.rx.From, st.owner.p.Name, st.rx.Kind}
	after := false
	for _, o := range r.sampler.order {
		if o == st {
			after = true
			continue
		}
		if !after || (streamKey{o.rx.From, o.owner.p.Name, o.rx.Kind}) != k {
			continue
		}
		for _, p := range r.reader.arrivals(r.final.logs[o.rx]) {
			if !p.Padding {
				return p.At, true
			}
		}
	}
	return time.Time{}, false
}

// streamSender is the publisher's sender that fed st. After an SFU
// restart a publisher has one connection to the SFU per incarnation: the
// one that fed st is the latest connected before st's first data. Without
// incarnations it is publisherSender's.
func (r *run) streamSender(st *streamTrack) (*agent.Sender, *agent.Conn) {
	if len(r.s.Timeline) == 0 || st.firstData.IsZero() {
		return r.publisherSender(st.rx.From, st.owner.p.Name, st.rx.Kind)
	}
	var snd *agent.Sender
	var conn *agent.Conn
	for _, ar := range r.agents {
		if ar.p.Name != st.rx.From {
			continue
		}
		for _, c := range ar.a.Conns() {
			at, ok := c.ConnectedAt()
			if (c.Remote != sfu.Name && c.Remote != st.owner.p.Name) || !ok || at.After(st.firstData) {
				continue
			}
			for _, s := range c.Senders() {
				if s.Clip.Kind() == st.rx.Kind {
					snd, conn = s, c
				}
			}
		}
	}
	if snd == nil {
		return r.publisherSender(st.rx.From, st.owner.p.Name, st.rx.Kind)
	}
	return snd, conn
}
