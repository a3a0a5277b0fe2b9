package sfu_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/stack/agent"
	"github.com/rtclab/rtclab/stack/clip"
	"github.com/rtclab/rtclab/stack/sfu"
	"github.com/rtclab/rtclab/stack/signaling"
)

// whipServer serves the SFU's WHIP/WHEP handler on an in-memory listener
// (the bubble has no sockets) and returns its origin and client.
func whipServer(t *testing.T, ctx context.Context, r *room) (string, *http.Client, func()) {
	t.Helper()
	pl := signaling.NewPipeListener()
	hs := &http.Server{Handler: r.sfu.Handler(ctx), ReadHeaderTimeout: time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = hs.Serve(pl) }()
	client := &http.Client{Transport: &http.Transport{DialContext: pl.DialContext}}
	return "http://sfu", client, func() {
		client.CloseIdleConnections()
		_ = hs.Close()
		<-served
	}
}

// A WHIP publisher and two WHEP subscribers through the embedded SFU, in
// virtual time: each subscriber gets both of the publisher's streams,
// every packet of them; DELETE ends each session and the SFU removes it.
func TestWHIPPublishWHEPSubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r, stop := newRoom(t, ctx, "alice", "bob", "carol")
		defer stop()
		origin, client, stopHTTP := whipServer(t, ctx, r)
		defer stopHTTP()
		audio, err := clip.Open(rtclab.Clips, "testdata/clips/audio-opus.ogg")
		if err != nil {
			t.Fatal(err)
		}
		start := func(name, mode, path string, pub []*clip.Clip) *agent.Agent {
			h, _ := r.nw.Host(name)
			a, err := agent.StartHTTP(ctx, agent.Params{Name: name, Net: h.Net, HTTPClient: client, Publish: pub, Virtual: true}, mode, origin+path+name)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		alice := start("alice", agent.ModeWHIP, sfu.WHIPPath, []*clip.Clip{r.video, audio})
		time.Sleep(time.Second) // the SFU publishes her tracks once their first packets arrive
		bob := start("bob", agent.ModeWHEP, sfu.WHEPPath, nil)
		carol := start("carol", agent.ModeWHEP, sfu.WHEPPath, nil)
		time.Sleep(5 * time.Second)
		alice.Close() // stops publishing; let the last packets arrive
		time.Sleep(time.Second)

		for _, sub := range []*agent.Agent{bob, carol} {
			rx := sub.Conns()[0].Receivers()
			kinds := map[string]agent.SeqCounts{}
			for _, x := range rx {
				if x.From != "alice" {
					t.Errorf("a WHEP subscriber receives %s from %q, want alice", x.Kind, x.From)
				}
				kinds[x.Kind] = x.Counts()
			}
			for _, k := range []string{"audio", "video"} {
				n, ok := kinds[k]
				if !ok {
					t.Errorf("subscriber %d: no %s from alice (got %v)", len(rx), k, kinds)
					continue
				}
				// 5 s of a 50 packet/s audio clip and 30 frame/s video.
				if n.Unique < 200 || n.Lost() != 0 {
					t.Errorf("%s: %d of %d expected packets, %d lost; want ~5 s of the stream, nothing lost", k, n.Unique, n.Expected, n.Lost())
				}
				t.Logf("%s: %d of %d packets", k, n.Unique, n.Expected)
			}
		}
		bob.Close()
		carol.Close()
		time.Sleep(100 * time.Millisecond)
		removed := 0
		for _, e := range r.sfuEvents() {
			if strings.HasPrefix(e, "peer-removed ") {
				removed++
			}
		}
		if removed != 3 {
			t.Errorf("the SFU removed %d sessions on DELETE, want 3 (events %v)", removed, r.sfuEvents())
		}
		if d := r.sfu.DownTracks(); len(d) != 0 {
			t.Errorf("down tracks left after every session was deleted: %+v", d)
		}
	})
}

// What a WHIP client sees when the server refuses: the status and the
// server's reason, in an error and an event.
func TestWHIPErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r, stop := newRoom(t, ctx, "alice")
		defer stop()
		origin, client, stopHTTP := whipServer(t, ctx, r)
		defer stopHTTP()
		do := func(method, path, ctype, body string) (int, string) {
			req, err := http.NewRequest(method, origin+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		for _, c := range []struct {
			name, method, path, ctype, body string
			status                          int
			says                            string
		}{
			{"wrong content type", "POST", sfu.WHIPPath + "x", "application/json", "{}", 415, "must be application/sdp"},
			{"no content type", "POST", sfu.WHEPPath + "x", "", "v=0", 415, "must be application/sdp"},
			{"malformed SDP", "POST", sfu.WHIPPath + "x", "application/sdp", "hello", 422, "malformed SDP offer"},
			{"SDP pion refuses", "POST", sfu.WHIPPath + "x", "application/sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", 422, "SDP offer refused"},
			{"unknown session", "DELETE", sfu.SessionPath + "nobody", "", "", 404, "no WHIP or WHEP session nobody"},
			{"unknown endpoint", "POST", "/nope/x", "application/sdp", "v=0", 404, "not found"},
			{"PATCH not a fragment", "PATCH", sfu.SessionPath + "x", "application/trickle-ice-sdpfrag", "a=x", 400, "a=x is not an ICE attribute"},
			{"PATCH as SDP", "PATCH", sfu.SessionPath + "x", "application/sdp", "v=0", 415, "must be application/trickle-ice-sdpfrag"},
			{"PATCH unknown session", "PATCH", sfu.SessionPath + "x", "application/trickle-ice-sdpfrag", "a=ice-ufrag:u\r\na=ice-pwd:p\r\n", 404, "no WHIP or WHEP session x"},
		} {
			status, body := do(c.method, c.path, c.ctype, c.body)
			if status != c.status || !strings.Contains(body, c.says) {
				t.Errorf("%s: %d %q, want %d saying %q", c.name, status, body, c.status, c.says)
			}
		}
		// The client's side: a clear error and an event.
		h, _ := r.nw.Host("alice")
		var events []string
		_, err := agent.StartHTTP(ctx, agent.Params{Name: "alice", Net: h.Net, HTTPClient: client, Publish: []*clip.Clip{r.video}, Virtual: true,
			OnEvent: func(kind, detail string) {
				if kind == "error" {
					events = append(events, kind+": "+detail)
				}
			}}, agent.ModeWHIP, origin+"/wrong/alice")
		var he *agent.HTTPError
		if !errors.As(err, &he) || he.Status != 404 {
			t.Fatalf("publishing to a wrong URL: %v, want an HTTPError 404", err)
		}
		want := "agent alice whip: POST http://sfu/wrong/alice: 404 Not Found: 404 page not found"
		if err.Error() != want || len(events) != 1 || events[0] != "error: "+want {
			t.Errorf("error %q, events %q; want %q once", err, events, want)
		}
		// A name already in the room: 409.
		a, err := agent.StartHTTP(ctx, agent.Params{Name: "alice", Net: h.Net, HTTPClient: client, Publish: []*clip.Clip{r.video}, Virtual: true}, agent.ModeWHIP, origin+sfu.WHIPPath+"alice")
		if err != nil {
			t.Fatal(err)
		}
		_, err = agent.StartHTTP(ctx, agent.Params{Name: "alice2", Net: h.Net, HTTPClient: client, Virtual: true}, agent.ModeWHEP, origin+sfu.WHEPPath+"alice")
		if !errors.As(err, &he) || he.Status != 409 || !strings.Contains(err.Error(), "alice is already in the room") {
			t.Errorf("a second alice: %v, want 409", err)
		}
		a.Close()
	})
}

// A WHEP viewer that comes before anyone publishes: its offer's recvonly
// m-lines are slots the SFU fills when alice publishes, takes back when
// she leaves and fills again with carol's tracks, on the same SSRCs and
// with one continuous numbering; dave, publishing while carol holds the
// viewer's only slots, is refused with the reason. On the old build
// (tracks only in the answer) bob received nothing.
func TestWHEPViewerBeforePublisher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r, stop := newRoom(t, ctx, "alice", "bob", "carol", "dave")
		defer stop()
		origin, client, stopHTTP := whipServer(t, ctx, r)
		defer stopHTTP()
		audio, err := clip.Open(rtclab.Clips, "testdata/clips/audio-opus.ogg")
		if err != nil {
			t.Fatal(err)
		}
		start := func(name, mode, path string, pub []*clip.Clip) *agent.Agent {
			h, _ := r.nw.Host(name)
			a, err := agent.StartHTTP(ctx, agent.Params{Name: name, Net: h.Net, HTTPClient: client, Publish: pub, Virtual: true}, mode, origin+path+name)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		h, _ := r.nw.Host("bob")
		bob, err := agent.StartHTTP(ctx, agent.Params{Name: "bob", Net: h.Net, HTTPClient: client, Virtual: true,
			SlotSource: func(ssrc uint32) string { pub, _ := r.sfu.SlotSource(ctx, "bob", ssrc); return pub }},
			agent.ModeWHEP, origin+sfu.WHEPPath+"bob")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		alice := start("alice", agent.ModeWHIP, sfu.WHIPPath, []*clip.Clip{r.video, audio})
		time.Sleep(3 * time.Second)
		alice.Close()
		time.Sleep(500 * time.Millisecond)
		carol := start("carol", agent.ModeWHIP, sfu.WHIPPath, []*clip.Clip{r.video, audio})
		time.Sleep(time.Second)
		dave := start("dave", agent.ModeWHIP, sfu.WHIPPath, []*clip.Clip{r.video})
		time.Sleep(2 * time.Second)
		carol.Close()
		dave.Close()
		time.Sleep(500 * time.Millisecond)

		rx := bob.Conns()[0].Receivers()
		if len(rx) != 2 {
			t.Errorf("bob has %d receivers, want 2 (one per slot, kept across publishers)", len(rx))
		}
		for _, x := range rx {
			n := x.Counts()
			// ~3 s of alice then ~3 s of carol: 50 audio packets/s, 30
			// frames/s of video (more packets than frames).
			if n.Unique < 250 || n.Lost() != 0 || n.Duplicates != 0 {
				t.Errorf("%s: %d of %d expected packets, %d lost, %d duplicates; want ~6 s of two publishers in one continuous stream",
					x.Kind, n.Unique, n.Expected, n.Lost(), n.Duplicates)
			}
			// The answer named no stream; the SFU names the publisher
			// whose track filled the slot first (carol's later
			// packets come on the same SSRC).
			if x.From != "alice" {
				t.Errorf("%s of a slot filled after the answer is from %q, want alice", x.Kind, x.From)
			}
			t.Logf("%s: %d of %d packets", x.Kind, n.Unique, n.Expected)
		}
		var got []string
		for _, n := range r.sfu.Negotiations() {
			if n.Subscriber == "bob" {
				got = append(got, fmt.Sprintf("%s %s ok=%v %s", n.Publisher, n.Kind, n.OK, n.Reason))
			}
		}
		want := []string{
			"alice audio ok=true ", "alice video ok=true ",
			"carol audio ok=true ", "carol video ok=true ",
			"dave video ok=false no free video slot: bob's WHEP offer reserved 1 video m-line(s), all in use",
		}
		if !slices.Equal(got, want) {
			t.Errorf("bob's negotiations:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		bob.Close()
	})
}

// PATCH of a session (RFC 9725 section 4.3.1): trickle is checked
// against the ICE session's entity-tag and credentials; alice restarts
// ICE mid-call with If-Match: *, the SFU answers its new credentials
// and a new entity-tag, and bob (WHEP) keeps receiving her media over
// the new ICE session; a trickle for the ICE session before is refused
// with 412. On the old build every PATCH was 405.
func TestWHIPPatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r, stop := newRoom(t, ctx, "alice", "bob")
		defer stop()
		origin, client, stopHTTP := whipServer(t, ctx, r)
		defer stopHTTP()
		h, _ := r.nw.Host("alice")
		var events []string
		alice, err := agent.StartHTTP(ctx, agent.Params{Name: "alice", Net: h.Net, HTTPClient: client, Publish: []*clip.Clip{r.video}, Virtual: true,
			OnEvent: func(kind, detail string) { events = append(events, kind+" "+detail) }}, agent.ModeWHIP, origin+sfu.WHIPPath+"alice")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		hb, _ := r.nw.Host("bob")
		bob, err := agent.StartHTTP(ctx, agent.Params{Name: "bob", Net: hb.Net, HTTPClient: client, Virtual: true}, agent.ModeWHEP, origin+sfu.WHEPPath+"bob")
		if err != nil {
			t.Fatal(err)
		}
		loc, tag0 := alice.HTTPSession()
		if loc != origin+sfu.SessionPath+"alice" || len(tag0) < 3 || tag0[0] != '"' {
			t.Fatalf("session %q, ETag %q", loc, tag0)
		}
		patch := func(ifMatch, body string) (int, string) {
			req, _ := http.NewRequest(http.MethodPatch, loc, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
			if ifMatch != "" {
				req.Header.Set("If-Match", ifMatch)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		cand := "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=candidate:9 1 udp 2130706431 10.9.9.9 9999 typ host\r\n"
		for _, c := range []struct {
			name, ifMatch, body string
			status              int
			says                string
		}{
			{"trickle, another ICE session", `"old"`, cand, 412, "is not the current ICE session"},
			{"trickle, other credentials", tag0, "a=ice-ufrag:zz\r\na=ice-pwd:yy\r\n" + cand, 422, "is not this ICE session's"},
			{"trickle", tag0, cand, 204, ""},
			{"restart without credentials", "*", cand, 422, "must carry the new ice-ufrag and ice-pwd"},
		} {
			if st, b := patch(c.ifMatch, c.body); st != c.status || !strings.Contains(b, c.says) {
				t.Errorf("%s: %d %q, want %d saying %q", c.name, st, b, c.status, c.says)
			}
		}
		time.Sleep(2 * time.Second)
		count := func() uint64 { return bob.Conns()[0].Receivers()[0].Counts().Unique }
		before := count()
		alice.RestartICE(ctx)
		time.Sleep(3 * time.Second)
		after := count()
		if _, tag1 := alice.HTTPSession(); tag1 == tag0 || tag1 == "" {
			t.Errorf("ETag %q after the restart, was %q: want a new one", tag1, tag0)
		}
		if st, b := patch(tag0, cand); st != 412 {
			t.Errorf("trickle for the ICE session before the restart: %d %q, want 412", st, b)
		}
		// ~30 frames/s for 3 s, more than one packet a frame.
		if after-before < 90 {
			t.Errorf("bob received %d packets of alice's video in the 3 s after her ICE restart, want ~90 or more", after-before)
		}
		restarts, trickles := 0, 0
		for _, e := range r.sfuEvents() {
			switch e {
			case "whip-ice-restart alice":
				restarts++
			case "whip-trickle alice":
				trickles++
			}
		}
		if trickles < 2 {
			t.Errorf("%d trickle PATCHes of alice's session, want the test's and those of her restart's candidates", trickles)
		}
		if restarts != 1 || !slices.ContainsFunc(events, func(e string) bool { return strings.HasPrefix(e, "ice-restart ") }) {
			t.Errorf("SFU restarts %d (events %v), alice's events %v; want one restart each side", restarts, r.sfuEvents(), events)
		}
		for _, e := range events {
			if strings.HasPrefix(e, "error") {
				t.Errorf("alice: %s", e)
			}
		}
		t.Logf("bob: %d packets before, %d in the 3 s after alice's restart", before, after-before)
		alice.Close()
		bob.Close()
	})
}

// A DELETE that fails is reported by the client, with the server's
// reason: to an SFU that is shutting down (503 and why: the old build
// dropped the reason, "503 Service Unavailable: ") and to a server that
// is gone mid-call (the connection is refused). A normal teardown, the
// SFU still serving, logs no error (runner's TestWHIPScenario).
func TestWHIPDeleteErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r, stop := newRoom(t, ctx, "alice", "bob")
		defer stop()
		hctx, shutDown := context.WithCancel(ctx)
		origin, client, stopHTTP := whipServer(t, hctx, r)
		defer stopHTTP()
		var mu sync.Mutex
		errs := map[string][]string{}
		start := func(name string) *agent.Agent {
			h, _ := r.nw.Host(name)
			a, err := agent.StartHTTP(ctx, agent.Params{Name: name, Net: h.Net, HTTPClient: client, Publish: []*clip.Clip{r.video}, Virtual: true,
				OnEvent: func(kind, detail string) {
					if kind == "error" {
						mu.Lock()
						defer mu.Unlock()
						errs[name] = append(errs[name], detail)
					}
				}}, agent.ModeWHIP, origin+sfu.WHIPPath+name)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		alice, bob := start("alice"), start("bob")
		time.Sleep(time.Second)
		shutDown() // the handler answers 503 from now on
		alice.Close()
		stopHTTP() // the server is gone
		bob.Close()
		mu.Lock()
		defer mu.Unlock()
		want := map[string]string{
			"alice": "DELETE http://sfu/session/alice: 503 Service Unavailable: the SFU is shutting down",
			"bob":   "DELETE http://sfu/session/bob: ",
		}
		for name, w := range want {
			if len(errs[name]) != 1 || !strings.HasPrefix(errs[name][0], w) {
				t.Errorf("%s's errors %q, want one starting %q", name, errs[name], w)
			}
		}
	})
}
