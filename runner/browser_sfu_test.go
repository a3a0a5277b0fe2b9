package runner_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
)

// chromeRoom is a mixed room through the embedded SFU: a Chromium and
// two pion agents, each behind a NAT, alice's downlink and bob's
// downlink lossy (so a recount that missed the loss disagrees).
const chromeRoom = `name: chrome-in-sfu-room
duration: 15s
topology: sfu
backend: kernel
participants:
  - name: alice
    client: chromium
    nat: symmetric
    downlink: {loss: 3%, delay: 30ms, jitter: 5ms}
  - name: bob
    nat: port-restricted-cone
    publish: [audio, video]
    downlink: {loss: 3%, delay: 20ms, jitter: 5ms}
  - name: carol
    nat: full-cone
    publish: [audio, video]
`

// TestChromiumThroughSFU: the Chromium joins the embedded SFU over the
// signaling the agents use, publishes and subscribes; every one of the
// room's 12 streams is delivered; the Chromium's streams in the report
// come from its getStats, and its cross-check against the capture of its
// link (and of the SFU's, for what it sends) agrees within the stated
// tolerances (runner/browser.go).
func TestChromiumThroughSFU(t *testing.T) {
	requireBrowserPeers(t)
	t.Setenv("TMPDIR", t.TempDir())
	began := time.Now()
	rep, err := runChrome(t, chromeRoom, runner.Options{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("took %v", time.Since(began).Round(time.Second))
	var text strings.Builder
	_ = reports.WriteText(&text, rep)
	t.Log(text.String())
	checkRoom(t, rep, []string{"alice", "bob", "carol"}, true)
	if len(rep.Browsers) != 1 {
		t.Fatalf("browsers %+v", rep.Browsers)
	}
	rows := map[string]reports.CrossCheck{}
	for _, r := range rep.Browsers[0].Rows {
		rows[r.What] = r
		if !r.Agree {
			t.Errorf("getStats and the capture disagree: %+v", r)
		}
	}
	// One row per publisher the browser receives, and for what it sends
	// to the SFU (the SFU's receiver reports).
	for _, want := range []string{
		"loss_fraction bob->alice audio", "loss_fraction carol->alice audio",
		"packets_received bob->alice video (originals)", "packets_received carol->alice video (originals)",
		"jitter_ms bob->alice audio", "loss_fraction alice->sfu audio (sfu's reports)", "rtt_ms alice-sfu (mean)",
	} {
		if _, ok := rows[want]; !ok {
			t.Errorf("no %q row in the cross-check: %+v", want, rep.Browsers[0].Rows)
		}
	}
	// As a user's browser, the participant's Chromium gathers no
	// loopback candidate (browser.LoopbackFlag is for tests on loopback):
	// nobody saw alice at 127.0.0.1.
	if rep.Privacy == nil {
		t.Fatal("no privacy section")
	}
	for _, party := range rep.Privacy.Parties {
		for _, a := range party.Saw {
			if a.Whose == "alice" && strings.HasPrefix(a.Address, "127.") {
				t.Errorf("%s saw alice at %s (%s)", party.Party, a.Address, a.Via)
			}
		}
	}
	// alice's downlink loses 3 %: the capture of her link sees it.
	for _, k := range []string{"loss_fraction bob->alice audio", "loss_fraction carol->alice audio"} {
		if r := rows[k]; r.Capture < 0.01 {
			t.Errorf("%s: the capture shows %.4f under a link that loses 3 %%", k, r.Capture)
		}
	}
	leftovers(t)
}

// checkRoom fails unless every stream between two of names (both
// kinds) is in the report with 400 packets received or more, and, when
// stayed, every participant stayed connected throughout.
func checkRoom(t *testing.T, rep *reports.Report, names []string, stayed bool) {
	t.Helper()
	if len(rep.Participants) != len(names) {
		t.Errorf("%d participants in the report, want %d", len(rep.Participants), len(names))
	}
	for _, p := range rep.Participants {
		if stayed && !p.Connected {
			t.Errorf("%s not connected throughout: %+v", p.Name, p)
		}
	}
	got := map[string]uint64{}
	for _, s := range rep.Streams {
		got[s.From+"->"+s.To+" "+s.Kind] += s.PacketsReceived
	}
	for _, from := range names {
		for _, to := range names {
			if from == to {
				continue
			}
			for _, kind := range []string{"audio", "video"} {
				k := from + "->" + to + " " + kind
				// 15 s of audio at 50 packets a second; video well over that.
				if got[k] < 400 {
					t.Errorf("%s: %d packets received, want the stream delivered", k, got[k])
				}
			}
		}
	}
}

// TestChromiumRestarts: the SFU restarts under a room with a Chromium
// (it rejoins: a new connection and offer, as the agents do), then the
// Chromium restarts ICE; every stream to and from it recovers, the
// report says how long each took (recovery_ms, from the capture of its
// link for what it receives), and the page's events show the rejoin and
// the restart.
func TestChromiumRestarts(t *testing.T) {
	requireBrowserPeers(t)
	t.Setenv("TMPDIR", t.TempDir())
	began := time.Now()
	// Chromium takes 2-6 s to start and join on a loaded machine: the
	// faults come once its call is up.
	yaml := strings.Replace(chromeRoom, "duration: 15s", "duration: 20s", 1) +
		"timeline:\n  - {at: 10s, restart: sfu, for: 1s}\n  - {at: 15s, ice_restart: alice}\n"
	rep, err := runChrome(t, yaml, runner.Options{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("took %v", time.Since(began).Round(time.Second))
	var text strings.Builder
	_ = reports.WriteText(&text, rep)
	t.Log(text.String())
	checkRoom(t, rep, []string{"alice", "bob", "carol"}, false)
	// Every participant's connection to the SFU closed with it: none
	// stayed connected throughout, each was present most of the call.
	for _, p := range rep.Participants {
		if p.Connected || p.Dropped == nil || p.ConnectedFraction < 0.5 {
			t.Errorf("%s: connected throughout %v, dropped %+v, present %.2f; want a drop at the SFU's restart", p.Name, p.Connected, p.Dropped, p.ConnectedFraction)
		}
	}
	events := map[string]int{}
	for _, e := range rep.Events {
		if e.Source == "alice" {
			events[e.Kind]++
			t.Logf("%6.3f s alice %s %s", e.T, e.Kind, e.Detail)
		}
		if e.Source == "runner" && (e.Kind == "recovered" || e.Kind == "not-recovered") && strings.Contains(e.Detail, "alice") {
			t.Logf("%s %s", e.Kind, e.Detail)
			if e.Kind == "not-recovered" {
				t.Errorf("not recovered: %s", e.Detail)
			}
		}
	}
	// The recovery of what alice receives, from the capture of her link,
	// against her getStats sampled every second: media reached her link
	// before the first sample after the SFU's restart that counted a
	// packet, and not long before the sample preceding it.
	for _, from := range []string{"bob", "carol"} {
		wire, ok := recoveredAfter(rep, from+"->alice audio", "restart sfu")
		if !ok {
			t.Errorf("%s->alice audio: no recovery from the SFU's restart", from)
			continue
		}
		before, after, ok := getStatsResumed(rep, "getstats alice<-"+from+" audio packets_received", 10)
		if !ok {
			t.Errorf("%s->alice audio: getStats never counted a packet after the SFU's restart", from)
			continue
		}
		t.Logf("%s->alice audio: recovered %.0f ms after the SFU's restart on the wire; getStats counted none by %.0f ms, some by %.0f ms",
			from, wire, before, after)
		// A recount that missed the new connection's SSRC, or read
		// another link, would recover later than getStats (or never).
		if wire > after || wire < before {
			t.Errorf("%s->alice audio: recovery %.0f ms on the wire, outside getStats' [%.0f, %.0f] ms", from, wire, before, after)
		}
	}
	for _, s := range rep.Series {
		if strings.HasPrefix(s.Name, "getstats alice<-") && strings.HasSuffix(s.Name, "audio packets_received") {
			t.Logf("%s: %v", s.Name, s.Points)
		}
	}
	for _, k := range []string{"dropped", "republish", "ice-restart"} {
		if events[k] == 0 {
			t.Errorf("no %q event of alice's page: %v", k, events)
		}
	}
	// After the SFU restart every stream to and from the browser has a
	// second incarnation, and each has its recovery time.
	for _, s := range rep.Streams {
		if s.From != "alice" && s.To != "alice" {
			continue
		}
		if s.RecoveryMS == nil {
			t.Errorf("%s->%s %s (connection %d): no recovery time", s.From, s.To, s.Kind, s.Connection)
			continue
		}
		// The SFU is gone for 1 s; a rejoin takes a join, an offer and
		// ICE: well under 10 s.
		if *s.RecoveryMS < 1000 || *s.RecoveryMS > 10000 {
			t.Errorf("%s->%s %s: recovered in %.0f ms, want between the 1 s gap and 10 s", s.From, s.To, s.Kind, *s.RecoveryMS)
		}
	}
	// What a pion publisher sent in one incarnation of the SFU is one
	// count, whoever received it: the browser's second incarnation of
	// bob's audio once showed the first's 352 packets sent against 423
	// received (bob sent 444 in the second).
	sent := map[string]uint64{}
	for _, s := range rep.Streams {
		if s.To != "alice" && s.From != "alice" {
			sent[fmt.Sprintf("%s %s %d", s.From, s.Kind, s.Connection)] = s.PacketsSent
		}
	}
	for _, s := range rep.Streams {
		if s.To != "alice" {
			continue
		}
		if want, ok := sent[fmt.Sprintf("%s %s %d", s.From, s.Kind, s.Connection)]; ok && s.PacketsSent != want {
			t.Errorf("%s->alice %s (connection %d): %d packets sent, but %s's same stream to the other participant says %d", s.From, s.Kind, s.Connection, s.PacketsSent, s.From, want)
		}
	}
	// Every figure agrees with the capture, what the browser sent
	// included. After the browser's ICE restart the SFU's receiver
	// reports count some of its packets lost (its uplink loses none):
	// pion/ice v4.1.0's Agent.Restart gathers new sockets and closes the
	// old ones at once, while Chromium keeps sending on the old pair
	// until the new one is up (RFC 8445 section 9 would let an agent keep
	// using it); the SFU's host answers those packets with ICMP port
	// unreachable. They were on the SFU's link but no socket received
	// them: lost, per RFC 3550 section 6.4.1 (expected less received),
	// as the reports say. The capture's count takes the ICMP refusals
	// into account; before, it counted those packets as arrived and the
	// rows said DIFFER (2-6 % of the browser's packets).
	// The mean round trip is only logged at the SFU, as before: after
	// the restart the browser's RTCP round trips ran 8-35 ms above the
	// SFU's STUN round trips in three runs (42 against 34 ms, 55 against
	// 35, 73 against 37; 25 ms allowed), while the SFU's DLSR matched
	// the capture's SR-to-RR time within 15 ms: not investigated further.
	sfuLoss := 0
	for _, r := range rep.Browsers[0].Rows {
		switch {
		case !r.Agree && r.Where == "sfu" && strings.HasPrefix(r.What, "rtt_ms"):
			t.Logf("after the ICE restart: %+v", r)
		case !r.Agree && strings.HasPrefix(r.What, "jitter_ms") && r.Where == "alice" && r.GetStats > r.Capture:
			// Chromium stamps a packet's arrival on its network thread,
			// the capture in the kernel: a stall of the browser's
			// process adds delay variation the wire never had, and can
			// only add it. In one make test on 2 cores Chromium said
			// 17-18 ms where the capture said 3.3-3.5 (alone, at a load
			// of 22, 5.00 against 4.59 and 5.04). Less jitter than the
			// wire is still a failure.
			t.Logf("the browser saw more jitter than the wire (a stall of its process): %+v", r)
		case !r.Agree:
			t.Errorf("getStats and the capture disagree: %+v", r)
		}
		if r.Where == "sfu" && strings.HasPrefix(r.What, "loss_fraction alice->sfu") && !strings.HasSuffix(r.What, "(closed connection)") {
			t.Logf("after the ICE restart: %+v", r)
			if r.GetStats > 0 {
				sfuLoss++
			}
		}
	}
	if sfuLoss == 0 {
		t.Errorf("the SFU's reports counted no loss of the browser's streams after its ICE restart: nothing was refused, the check proves nothing")
	}
	leftovers(t)
}

// recoveredAfter returns the recovery time in ms the runner's
// "recovered" event gives stream after the fault named.
func recoveredAfter(rep *reports.Report, stream, fault string) (float64, bool) {
	for _, e := range rep.Events {
		rest, ok := strings.CutPrefix(e.Detail, stream+": ")
		if e.Kind != "recovered" || !ok || !strings.Contains(rest, "after "+fault) {
			continue
		}
		var v float64
		if _, err := fmt.Sscanf(rest, "%f ms", &v); err == nil {
			return v, true
		}
	}
	return 0, false
}

// getStatsResumed reads a getStats packet counter series after a fault at
// faultS seconds: when its last sample that had counted nothing new
// since the fault was taken (the fault itself when none) and its first
// that had, in ms after the fault. Samples in the first 200 ms after the
// fault may still count packets that were in flight: they count as
// before. After the SFU's restart the page's new connection counts from
// zero, so a new count is any value above zero other than the last.
func getStatsResumed(rep *reports.Report, series string, faultS float64) (before, after float64, ok bool) {
	for _, s := range rep.Series {
		if s.Name != series {
			continue
		}
		last, prev, have := faultS, 0.0, false
		for _, p := range s.Points {
			if p.T >= faultS+0.2 {
				if have && p.V > 0 && p.V != prev {
					return (last - faultS) * 1000, (p.T - faultS) * 1000, true
				}
				last = p.T
			}
			prev, have = p.V, true
		}
	}
	return 0, 0, false
}

// TestChromiumPublisherFreezes: Chromium's camera (about 1.7 Mbit/s)
// reaches carol through a 600 kbit/s downlink and she sees a handful of
// frames in 12 s. Her picture is frozen, whoever sent it: a browser
// publisher has no clip to give the sender's frame interval, and with
// fewer than libwebrtc's 5 gaps nothing was judged (3 frames shown, fps
// 0.2, 0 freezes). The interval now comes from the RTP timestamps
// (analysis.FrameInterval). About 20 s.
func TestChromiumPublisherFreezes(t *testing.T) {
	requireBrowserPeers(t)
	t.Setenv("TMPDIR", t.TempDir())
	rep, err := runChrome(t, `name: chrome-publisher-freezes
duration: 12s
topology: sfu
backend: kernel
participants:
  - name: alice
    client: chromium
  - name: carol
    publish: [audio]
    downlink: {delay: 30ms, rate: 600kbps, queue: 100ms}
`, runner.Options{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, st := range rep.Streams {
		if st.From != "alice" || st.To != "carol" || st.Kind != "video" || st.Video == nil {
			continue
		}
		v := st.Video
		t.Logf("alice->carol video: %d frames shown, %.1f fps, %d freezes, %.0f ms", v.FramesShown, v.FPS, v.FreezeCount, v.FreezeMS)
		if v.FPS < 10 && v.FreezeCount == 0 {
			t.Errorf("%.1f fps over the call and no freeze", v.FPS)
		}
		if v.FPS < 10 && v.FreezeMS < 5000 {
			t.Errorf("%.1f fps and only %.0f ms frozen in 12 s", v.FPS, v.FreezeMS)
		}
		return
	}
	t.Fatal("no alice->carol video stream")
}
