package sfu_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/stack/agent"
	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/sfu"
	"github.com/rtclab/rtclab/stack/signaling"
)

// room is an SFU, a signaling server and a network in a synctest bubble.
type room struct {
	t      *testing.T
	nw     *netem.Network
	url    string
	client *http.Client
	sfu    *sfu.SFU
	video  *clip.Clip
	srv    *signaling.Server

	mu     sync.Mutex
	events []string // the SFU's events, "kind peer"
}

func (r *room) sfuEvents() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func newRoom(t *testing.T, ctx context.Context, hosts ...string) (*room, func()) {
	t.Helper()
	return newRoomWith(t, ctx, nil, hosts...)
}

// newRoomWith is newRoom with a change to the network's configuration.
func newRoomWith(t *testing.T, ctx context.Context, tweak func(*netem.Config), hosts ...string) (*room, func()) {
	t.Helper()
	var hc []netem.HostConfig
	for _, h := range hosts {
		hc = append(hc, netem.HostConfig{Name: h, Uplink: netem.Impairment{Delay: 10 * time.Millisecond}, Downlink: netem.Impairment{Delay: 10 * time.Millisecond}})
	}
	cfg := netem.Config{Seed: 1, Servers: []string{"sfu"}, Hosts: hc}
	if tweak != nil {
		tweak(&cfg)
	}
	nw, err := netem.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := signaling.NewServer(nil)
	pl := signaling.NewPipeListener()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = hs.Serve(pl) }()
	client := &http.Client{Transport: &http.Transport{DialContext: pl.DialContext}}
	url := "ws://signaling" + signaling.Path
	sh, _ := nw.Host("sfu")
	r := &room{t: t, nw: nw, url: url, client: client, srv: srv}
	s, err := sfu.Join(ctx, sfu.Params{Net: sh.Net, SignalURL: url, HTTPClient: client, OnEvent: func(kind, peer, _ string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, kind+" "+peer)
	}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Serve(sctx) }()
	video, err := clip.Open(rtclab.Clips, "testdata/clips/video-vp8.ivf")
	if err != nil {
		t.Fatal(err)
	}
	r.sfu, r.video = s, video
	return r, func() {
		cancel()
		wg.Wait()
		_ = hs.Close()
		<-served
		srv.Wait()
		client.CloseIdleConnections()
		_ = nw.Close()
	}
}

func (r *room) join(ctx context.Context, name string, publish bool) *agent.Agent {
	r.t.Helper()
	h, _ := r.nw.Host(name)
	p := agent.Params{Name: name, Room: "r", Net: h.Net, SignalURL: r.url, HTTPClient: r.client}
	if publish {
		p.Publish = []*clip.Clip{r.video}
	}
	a, err := agent.Start(ctx, p)
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

// shown counts the frames carol has shown from publisher from, and when
// the last one arrived.
func shown(a *agent.Agent, from string) (n int, last time.Time) {
	for _, c := range a.Conns() {
		for _, rx := range c.Receivers() {
			if rx.From != from {
				continue
			}
			frames, _ := rx.Frames() // a short call: never spilled
			for _, f := range frames {
				if f.Decodable {
					n++
					last = f.At
				}
			}
		}
	}
	return n, last
}

// Tracks come and go mid-call: when a publisher leaves, the SFU removes its
// track from every subscriber and renegotiates; a publisher who joins late
// is offered to those already there, who start with a keyframe.
func TestTracksAddedAndRemovedMidCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r, stop := newRoom(t, ctx, "alice", "bob", "carol", "dave")
		defer stop()
		alice := r.join(ctx, "alice", true)
		bob := r.join(ctx, "bob", true)
		carol := r.join(ctx, "carol", false)
		time.Sleep(4 * time.Second) // let the call run: scenario time, not a wait for an event
		left := time.Now()
		alice.Close()
		time.Sleep(2 * time.Second)
		joined := time.Now()
		dave := r.join(ctx, "dave", true)
		time.Sleep(3 * time.Second)

		nAlice, lastAlice := shown(carol, "alice")
		nBob, lastBob := shown(carol, "bob")
		nDave, _ := shown(carol, "dave")
		t.Logf("carol showed alice %d (last %v after she left), bob %d, dave %d", nAlice, lastAlice.Sub(left), nBob, nDave)
		if nAlice < 90 || lastAlice.After(left.Add(200*time.Millisecond)) {
			t.Errorf("alice -> carol: %d frames, last at +%v after alice left; want ~4 s of video that stops when she leaves", nAlice, lastAlice.Sub(left))
		}
		if nBob < 250 || time.Since(lastBob) > 100*time.Millisecond {
			t.Errorf("bob -> carol: %d frames, last %v ago; want the whole call", nBob, time.Since(lastBob))
		}
		if nDave < 75 {
			t.Errorf("dave -> carol: %d frames in the 3 s after he joined at %v; want his video", nDave, joined)
		}
		// No flood: every new subscriber and every renegotiation asks for
		// a keyframe, but a publisher gets at most one PLI per 500 ms.
		for _, pub := range []struct {
			a    *agent.Agent
			time time.Duration
		}{{bob, 9 * time.Second}, {dave, 3 * time.Second}} {
			plis, _ := pub.a.Conns()[0].Senders()[0].Feedback()
			if limit := uint64(pub.time/(500*time.Millisecond)) + 1; plis > limit {
				t.Errorf("a publisher got %d PLIs in %v, more than one per 500 ms", plis, pub.time)
			}
		}
		st := r.sfu.Stats()
		t.Logf("SFU: %d packets forwarded, %d PLIs forwarded, %d throttled", st.PacketsForwarded, st.PLIsForwarded, st.PLIsThrottled)
		for _, d := range r.sfu.DownTracks() {
			if d.Publisher == "alice" {
				t.Errorf("the SFU still forwards alice's track to %s after she left", d.Subscriber)
			}
		}
		bob.Close()
		carol.Close()
		dave.Close()
	})
}
