package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/rtclab/rtclab/phase"
	"github.com/rtclab/rtclab/stack/signaling"
)

// What a client does when the call breaks (Params.Rejoin), as a browser
// application does it: reconnect signaling with a backoff, rejoin the
// room, offer again to an SFU that came back, and restart ICE (RFC 8445
// section 9; RFC 8829 section 3.7 for the offer) when a connection stays
// disconnected or fails.
const (
	// reconnectFirst and reconnectMax bound the backoff between signaling
	// reconnection attempts (doubling from the first).
	reconnectFirst = 250 * time.Millisecond
	reconnectMax   = 2 * time.Second
	// restartGrace is how long a connection may stay disconnected before
	// its ICE is restarted (pion declares it disconnected after 5 s
	// without an answer to its checks, failed after 15 s).
	restartGrace = 2 * time.Second
	// restartRetry is how long an ICE restart is given to connect before
	// the next one.
	restartRetry = 5 * time.Second
	// mediaSilence is how long a connected connection may receive no
	// media at all, with tracks to receive, before its ICE is restarted:
	// the path that ICE's consent checks still use may no longer carry the
	// other side's packets (a NAT rebinding: the remote end keeps sending
	// to the old mapping).
	mediaSilence = 3 * time.Second
)

// mediaCheckEvery is how often the media watchdog reads the counters: an
// odd period (package phase), off the instants of media and timers.
var mediaCheckEvery = phase.Derive(500*time.Millisecond, time.Millisecond, "agent-media-watchdog")

// signal returns the current signaling connection.
func (a *Agent) signal() *signaling.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sig
}

// reconnect dials signaling again until it succeeds (true) or ctx ends
// (false), then has the loop act on the room it rejoined.
func (a *Agent) reconnect(ctx context.Context) bool {
	_ = a.signal().Close()
	wait := reconnectFirst
	for attempt := 1; ; attempt++ {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		sig, err := signaling.Dial(ctx, a.p.SignalURL, a.p.HTTPClient, a.p.Room, a.p.Name)
		if err != nil {
			wait = min(2*wait, reconnectMax)
			continue
		}
		a.mu.Lock()
		a.sig = sig
		a.mu.Unlock()
		a.event("signaling-rejoined", fmt.Sprintf("attempt %d, peers %v", attempt, sig.Joined.Peers))
		peers := sig.Joined.Peers
		a.post(ctx, func() {
			for _, p := range peers {
				if err := a.peerJoined(ctx, p); err != nil {
					a.event("error", fmt.Sprintf("rejoin %s: %v", p, err))
				}
			}
		})
		return true
	}
}

// peerJoined handles a participant joining (or found in the room on a
// rejoin): an SFU we have no connection to gets an offer with our tracks;
// in p2p the one already there offers, unless the two are still connected.
func (a *Agent) peerJoined(ctx context.Context, name string) error {
	if a.existing(name) != nil {
		return nil // still connected: signaling came back, media never left
	}
	switch {
	case a.p.Topology == TopologySFU && name == a.p.SFUName:
		a.event("republish", "offering to the SFU again")
		return a.offer(ctx, name)
	case a.p.Topology == TopologyP2P && name != a.p.SFUName:
		return a.offer(ctx, name)
	}
	return nil
}

// peerLeft drops the connection to an SFU that left the room: its
// PeerConnections died with it, and a new SFU needs a new one. A p2p peer
// that left signaling may still be connected; ICE decides.
func (a *Agent) peerLeft(name string) {
	if a.p.Topology != TopologySFU || name != a.p.SFUName {
		return
	}
	a.drop(name)
}

// drop closes the connection to remote and forgets it, keeping it in
// Conns for the report.
func (a *Agent) drop(remote string) {
	a.mu.Lock()
	c := a.conns[remote]
	delete(a.conns, remote)
	a.mu.Unlock()
	if c == nil {
		return
	}
	c.cancel()
	a.event("dropped", remote)
	a.wg.Add(1)
	go func() { // Close waits for callbacks that post to the loop
		defer a.wg.Done()
		_ = c.PC.Close()
	}()
}

// RestartICE restarts ICE on every connection now, as the user's
// application asks for it (a network change): an offer with new ICE
// credentials (RFC 8445 section 9).
func (a *Agent) RestartICE(ctx context.Context) {
	a.post(ctx, func() {
		a.mu.Lock()
		remotes := make([]string, 0, len(a.conns))
		for r := range a.conns {
			remotes = append(remotes, r)
		}
		a.mu.Unlock()
		for _, r := range remotes {
			if err := a.restartICE(ctx, r); err != nil {
				a.event("error", fmt.Sprintf("ICE restart %s: %v", r, err))
			}
		}
	})
}

// restartICE sends remote an ICE-restart offer (loop only).
func (a *Agent) restartICE(ctx context.Context, remote string) error {
	c := a.existing(remote)
	if c == nil {
		return nil
	}
	if a.http != nil {
		return a.restartHTTP(ctx, c) // whip.go
	}
	o, err := c.PC.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	if err := c.PC.SetLocalDescription(o); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	c.offeredRestart = true
	a.event("ice-restart", remote)
	return a.signal().Send(ctx, signaling.Message{Type: signaling.TypeOffer, To: remote, SDP: c.PC.ConcealSDP(o.SDP)})
}

// restarter reports whether this end restarts ICE on its own: always
// towards an SFU (which never does), in p2p the end whose name sorts
// first, so the two never offer at once.
func (a *Agent) restarter(remote string) bool {
	return a.p.Topology == TopologySFU || a.p.Name < remote
}

// watch starts a watchdog when c leaves the connected state: after
// restartGrace still not connected, it restarts ICE, and again every
// restartRetry until c connects, is dropped, or ctx ends.
func (a *Agent) watch(ctx context.Context, c *Conn, st webrtc.PeerConnectionState) {
	if (st != webrtc.PeerConnectionStateDisconnected && st != webrtc.PeerConnectionStateFailed) || !a.restarter(c.Remote) {
		return
	}
	c.mu.Lock()
	running := c.restarting
	c.restarting = true
	c.mu.Unlock()
	if running {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer func() {
			c.mu.Lock()
			c.restarting = false
			c.mu.Unlock()
		}()
		wait := restartGrace
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			if c.PC.ConnectionState() == webrtc.PeerConnectionStateConnected || a.existing(c.Remote) != c {
				return
			}
			a.post(ctx, func() {
				if err := a.restartICE(ctx, c.Remote); err != nil {
					a.event("error", fmt.Sprintf("ICE restart %s: %v", c.Remote, err))
				}
			})
			wait = restartRetry
		}
	}()
}

// watchMedia restarts c's ICE when c is connected, has tracks to receive,
// and no media packet arrived on any of them for mediaSilence (the end
// that does not restart on its own, in p2p, waits twice as long, so that
// the two do not offer at once). It runs until ctx ends or publishing
// stops (Params.Until).
func (a *Agent) watchMedia(ctx context.Context, c *Conn) {
	defer a.wg.Done()
	silence := mediaSilence
	if !a.restarter(c.Remote) {
		silence *= 2
	}
	tick := time.NewTicker(mediaCheckEvery)
	defer tick.Stop()
	var last uint64
	since := time.Now()
	for {
		var now time.Time
		select {
		case <-ctx.Done():
			return
		case now = <-tick.C:
		}
		if !a.p.Until.IsZero() && !now.Before(a.p.Until) {
			return
		}
		var total uint64
		rxs := c.Receivers()
		for _, r := range rxs {
			total += r.Counts().Unique
		}
		if total != last || len(rxs) == 0 || c.PC.ConnectionState() != webrtc.PeerConnectionStateConnected {
			last, since = total, now
			continue
		}
		if now.Sub(since) < silence {
			continue
		}
		since = now
		a.event("media-silent", fmt.Sprintf("%s: nothing received for %v", c.Remote, silence))
		a.post(ctx, func() {
			if err := a.restartICE(ctx, c.Remote); err != nil {
				a.event("error", fmt.Sprintf("ICE restart %s: %v", c.Remote, err))
			}
		})
	}
}
