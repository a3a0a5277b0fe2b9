package runner

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/agent"
	"github.com/rtclab/rtclab/stack/sfu"
	"github.com/rtclab/rtclab/stack/signaling"
)

// Participants that reach the SFU over WHIP (RFC 9725) and WHEP
// (servers.sfu: whip, or a user's {whip, whep}): each publisher POSTs its
// offer to the WHIP endpoint followed by its name, each participant that
// only watches to the WHEP endpoint, after the publishers' tracks are up:
// those go into the answer under their publishers' names. The watcher
// reserves a slot per publisher and kind (stack/sfu/whep.go), which the
// SFU fills with a track published later; such a slot's stream is
// unnamed ("-") in the answer, and the run asks the embedded SFU whose
// track it carries when its first packet arrives, so that the report
// credits the publisher, not the SFU (a user's SFU cannot be asked: its
// late slots stay the SFU's).

// whipEndpoints are where the run's participants publish and watch.
type whipEndpoints struct {
	whip, whep string
	client     *http.Client
	waited     bool // the first watcher waited for the published tracks
}

// externalWait is how long watchers of a user's SFU wait after the last
// publisher joined: the run cannot ask that SFU what it publishes.
const externalWait = 2 * time.Second

// serveWHIP serves the embedded SFU's WHIP/WHEP endpoints (in virtual time
// on an in-memory listener, in real time on loopback TCP), or takes a
// user's; it returns what stops the server.
func (r *run) serveWHIP(ctx context.Context) (func(), error) {
	if r.s.SFUKind() == scenarios.SFUExternal {
		r.whip = &whipEndpoints{whip: r.s.Servers.SFU.WHIP, whep: r.s.Servers.SFU.WHEP, client: &http.Client{Timeout: 30 * time.Second}}
		return func() { r.whip.client.CloseIdleConnections() }, nil
	}
	sf := r.currentSFU()
	hs := &http.Server{Handler: sf.Handler(ctx), ReadHeaderTimeout: 10 * time.Second}
	var ln net.Listener
	e := &whipEndpoints{}
	origin := "http://sfu"
	if r.opt.Clock == ClockVirtual {
		pl := signaling.NewPipeListener()
		ln = pl
		e.client = &http.Client{Transport: &http.Transport{DialContext: pl.DialContext}}
	} else {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("whip listen: %w", err)
		}
		ln = tl
		origin = "http://" + tl.Addr().String()
		e.client = &http.Client{Timeout: 30 * time.Second}
	}
	e.whip, e.whep = origin+sfu.WHIPPath, origin+sfu.WHEPPath
	r.whip = e
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	r.event("sfu", "whip", "WHIP at "+e.whip+", WHEP at "+e.whep)
	return func() {
		_ = hs.Close()
		<-done
		e.client.CloseIdleConnections()
	}, nil
}

// startOverHTTP starts a participant over WHIP (it publishes) or WHEP (it
// only watches).
func (r *run) startOverHTTP(ctx context.Context, p agent.Params) (*agent.Agent, error) {
	e := r.whip
	p.HTTPClient = e.client
	for _, q := range r.s.Participants {
		if len(q.Publish) > 0 {
			p.WHEPSlots++
		}
	}
	if len(p.Publish) > 0 {
		return agent.StartHTTP(ctx, p, agent.ModeWHIP, e.whip+p.Name)
	}
	if sf := r.currentSFU(); sf != nil {
		name := p.Name
		p.SlotSource = func(ssrc uint32) string {
			pub, _ := sf.SlotSource(ctx, name, ssrc)
			return pub
		}
	}
	return agent.StartHTTP(ctx, p, agent.ModeWHEP, e.whep+p.Name)
}

// waitBeforeWatching holds the first watcher back until the publishers'
// tracks are there (waitPublished); the runner calls it before the
// watcher joins, so the wait is not in its time_to_connect_ms (a viewer
// waiting 10 s for a publisher that never connected read 10,240 ms).
func (r *run) waitBeforeWatching(ctx context.Context) {
	if e := r.whip; e != nil && !e.waited && (r.opt.hooks == nil || !r.opt.hooks.watchEarly) {
		e.waited = true
		r.waitPublished(ctx)
	}
}

// waitPublished waits until the embedded SFU offers every track the
// publishers send, or externalWait for a user's SFU.
func (r *run) waitPublished(ctx context.Context) {
	sf := r.currentSFU()
	if sf == nil {
		select {
		case <-time.After(externalWait):
		case <-ctx.Done():
		}
		return
	}
	want := 0
	for _, p := range r.s.Participants {
		want += len(p.Publish)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sf.PublishedTracks(ctx) < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond) // the SFU announces nothing; look again
	}
}

// joinOrder is the order participants join in: the scenario's, with the
// publishers first when they reach the SFU over WHIP/WHEP.
func (r *run) joinOrder() []scenarios.Participant {
	if !r.s.OverHTTP() {
		return r.s.Participants
	}
	var pubs, watchers []scenarios.Participant
	for _, p := range r.s.Participants {
		if len(p.Publish) > 0 {
			pubs = append(pubs, p)
		} else {
			watchers = append(watchers, p)
		}
	}
	return append(pubs, watchers...)
}

// endSessions ends the participants' WHIP and WHEP sessions, watchers
// first, while the SFU still serves them: each DELETEs its session URL
// (RFC 9725 section 4.2) and the SFU removes it. It runs before the
// run's context ends, which stops the SFU's loop: a DELETE after that
// was answered "503 the SFU is shutting down", logged as an error by
// every participant of every WHIP run. A DELETE that fails now (a dead
// server) is still reported by the agent.
func (r *run) endSessions() {
	for i := len(r.agents) - 1; i >= 0; i-- {
		r.agents[i].a.Close() // the deferred Close after this does nothing
	}
}
