package runner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// A WHIP publisher and two WHEP watchers through the embedded SFU, in
// virtual time: every stream is delivered to both, counted from the
// watchers' arrival logs against the publisher's send log; bob's lossy
// downlink shows as loss on his audio only (the case a report mixing
// the two watchers up would break).
func TestWHIPScenario(t *testing.T) {
	rep := runYAML(t, "whip.yaml", `name: whip-fanout
duration: 10s
servers:
  sfu: whip
participants:
  - name: carol
  - name: alice
    publish: [audio, video]
  - name: bob
    downlink: {loss: 3%}
`)
	for _, to := range []string{"bob", "carol"} {
		for _, kind := range []string{"audio", "video"} {
			st := stream(t, rep, "alice", to, kind)
			// Watchers join after alice's tracks are up: all but her
			// first packets are due to them.
			if st.PacketsReceived < st.PacketsSent*9/10 || st.PacketsSent < 400 {
				t.Errorf("alice->%s %s: %d of %d packets", to, kind, st.PacketsReceived, st.PacketsSent)
			}
			lossy := to == "bob" && kind == "audio"
			if lossy != (st.LossFraction > 0.01) {
				t.Errorf("alice->%s %s: loss %.4f (bob's audio crosses 3 %% loss, unrepaired; the rest is clean or repaired)", to, kind, st.LossFraction)
			}
		}
	}
	whip := 0
	for _, e := range rep.Events {
		if e.Source == "sfu" && strings.HasSuffix(e.Kind, "-session") {
			whip++
		}
	}
	if whip != 3 {
		t.Errorf("the SFU made %d WHIP/WHEP sessions, want 3", whip)
	}
	// Teardown: every session is DELETEd while the SFU still answers
	// and removed by it; no error. The old build cancelled the SFU's
	// loop first: each DELETE was answered 503 and logged as an error.
	removed := 0
	for _, e := range rep.Events {
		if e.Kind == "error" {
			t.Errorf("%s: error at %gs: %s", e.Source, e.T, e.Detail)
		}
		if e.Source == "sfu" && e.Kind == "peer-removed" && strings.HasSuffix(e.Detail, " session deleted") {
			removed++
		}
	}
	if removed != 3 {
		t.Errorf("the SFU removed %d sessions on DELETE, want 3", removed)
	}
}

// A WHEP watcher who joins before the publisher's tracks are up gets
// slots the SFU fills later, under a stream the answer named "-": the
// report credits them to the publisher (asked of the SFU when the
// first packet arrives) as it does a slot filled at the answer, and
// counts them against her send log. The old build reported them as
// "sfu->bob", with no packets_sent.
func TestWHEPSlotFilledLate(t *testing.T) {
	s, err := scenarios.Parse("whep-late.yaml", []byte(`name: whep-late
duration: 6s
servers:
  sfu: whip
participants:
  - name: alice
    publish: [audio, video]
  - name: bob
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runVirtual(t, s, Options{hooks: &testHooks{watchEarly: true}})
	if err != nil {
		t.Fatal(err)
	}
	var session, filled float64 = -1, -1
	for _, e := range rep.Events {
		switch {
		case e.Source == "sfu" && e.Kind == "whep-session" && session < 0:
			session = e.T
		case e.Source == "sfu" && e.Kind == "whep-slot" && strings.HasPrefix(e.Detail, "bob: ") && filled < 0:
			filled = e.T
		}
	}
	if session < 0 || filled <= session {
		t.Fatalf("bob's session at %gs, his first slot filled at %gs: the slots were not filled after the answer, the test proves nothing", session, filled)
	}
	if len(rep.Streams) != 2 {
		t.Errorf("%d streams, want alice's audio and video to bob", len(rep.Streams))
	}
	for _, kind := range []string{"audio", "video"} {
		st := stream(t, rep, "alice", "bob", kind)
		if st.PacketsSent < 200 || st.PacketsReceived < st.PacketsSent*9/10 {
			t.Errorf("alice->bob %s: %d of %d packets", kind, st.PacketsReceived, st.PacketsSent)
		}
	}
}

func TestWHIPScenarioErrors(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown", "servers:\n  sfu: whep\n", `servers.sfu: unknown SFU "whep" (allowed: embedded, whip, or {whip: URL, whep: URL}); did you mean "whip"?`},
		{"server restart", "servers:\n  sfu: whip\ntimeline:\n  - {at: 1s, restart: sfu}\n", "timeline[0].restart: restart: sfu is not available over WHIP/WHEP (a session is not renegotiated; allowed: ice_restart, rebind, flap: ICE restarts go over HTTP PATCH)"},
		{"p2p", "topology: p2p\nservers:\n  sfu: whip\n", `servers.sfu: an SFU over WHIP/WHEP needs topology: sfu, not "p2p"`},
		{"external in-process", "servers:\n  sfu: {whip: http://127.0.0.1:8889/whip/, whep: http://127.0.0.1:8889/whep/}\n", "servers.sfu: a user's SFU needs backend: kernel"},
		{"external elsewhere", "backend: kernel\nservers:\n  sfu: {whip: http://192.0.2.7/whip/, whep: http://127.0.0.1/whep/}\n", `servers.sfu.whip: "http://192.0.2.7/whip/": a scenario may only target loopback or the run's own namespaces`},
	} {
		y := "name: w\nduration: 5s\nparticipants:\n  - name: alice\n    publish: [video]\n  - name: bob\n" + c.yaml
		_, err := scenarios.Parse("w.yaml", []byte(y))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// A WHIP publisher whose link goes down long enough for ICE to fail:
// alice's watchdog restarts ICE over HTTP PATCH (RFC 9725 section
// 4.3.1; the HTTP path is not the media path), the SFU answers the new
// ICE session, and her media reaches the WHEP watcher again once the
// link is back; recovery_ms is measured from the watcher's arrival log.
// An ice_restart fault restarts ICE over PATCH too, costing nothing.
// (A rebind needs no restart here: the SFU takes alice's new mapping as
// a peer-reflexive candidate within ~200 ms.)
func TestWHIPICERestart(t *testing.T) {
	for _, tt := range []struct {
		timeline string
		lo, hi   float64
	}{
		// The link is back at 12 s; with the restart's candidates
		// trickled media returns ~1.2 s later (sent with the restart
		// after gathering, ~3.2 s: 11.2 s).
		{"  - {at: 4s, flap: alice, for: 8s}", 8000, 10500},
		{"  - {at: 4s, ice_restart: alice}", 0, 500},
	} {
		t.Run(strings.TrimSpace(tt.timeline), func(t *testing.T) {
			s, err := scenarios.Parse("whip.yaml", []byte(`name: whip-ice-restart
duration: 20s
servers:
  sfu: whip
participants:
  - name: alice
    nat: port-restricted-cone
    publish: [audio, video]
  - name: bob
timeline:
`+tt.timeline+`
expect:
  - {metric: recovery_ms, max: 12000}
`))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := runVirtual(t, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			logFaults(t, rep)
			if ev := events(rep, "alice", "ice-restart"); len(ev) != 1 {
				t.Errorf("alice's ICE restarts %v, want 1", ev)
			}
			if ev := events(rep, "sfu", "whip-ice-restart"); len(ev) != 1 {
				t.Errorf("the SFU's PATCH restarts %v, want 1", ev)
			}
			if ev := events(rep, "sfu", "whip-trickle"); len(ev) == 0 {
				t.Errorf("alice trickled no candidate of her restart")
			}
			for _, kind := range []string{"audio", "video"} {
				st := stream(t, rep, "alice", "bob", kind)
				if st.RecoveryMS == nil || *st.RecoveryMS < tt.lo || *st.RecoveryMS > tt.hi {
					t.Errorf("alice->bob %s: recovery_ms %s, want %g..%g", kind, fmtMS(st.RecoveryMS), tt.lo, tt.hi)
				} else {
					t.Logf("alice->bob %s: recovery %.0f ms, %d of %d packets; wire %+v", kind, *st.RecoveryMS, st.PacketsReceived, st.PacketsSent, *st.Wire)
				}
			}
			if strings.Contains(tt.timeline, "flap") {
				checkBoundedRepair(t, rep, 20)
			}
			if rep.Verdict != "pass" {
				t.Errorf("verdict %s: %+v", rep.Verdict, rep.Checks)
			}
		})
	}
}

// checkBoundedRepair checks that after the publisher's 8 s flap alice
// resent no more than about a second of video (stack/peer history.go:
// a sender answers NACKs only for packets sent within max(1 s, 3 RTT),
// as libwebrtc does), and that bob received no more video packets than
// alice sent. On the old build pion's responder answered the SFU's NACKs
// for the whole outage: 590 retransmissions, and bob received 1,273
// packets against 1,082 sent. The bound is twice alice's mean video rate
// over the run (seconds long): the packets of one second of history plus
// the RTT margin, with room for the rate varying.
func checkBoundedRepair(t *testing.T, rep *reports.Report, seconds float64) {
	t.Helper()
	st := stream(t, rep, "alice", "bob", "video")
	perSecond := float64(st.PacketsSent) / seconds
	if rtx := float64(st.Wire.PublisherRTX); rtx > 2*perSecond {
		t.Errorf("alice resent %v video packets after the flap, want at most %.0f (two seconds of video at %.0f packets/s)", rtx, 2*perSecond, perSecond)
	}
	if st.PacketsReceived > st.PacketsSent {
		t.Errorf("bob received %d video packets, alice sent %d: old packets were resent", st.PacketsReceived, st.PacketsSent)
	}
	t.Logf("alice->bob video: %d of %d packets, %d resent by alice, %.0f kbit/s mean", st.PacketsReceived, st.PacketsSent, st.Wire.PublisherRTX, st.BitrateKbps)
	if st.Video != nil {
		t.Logf("alice->bob video: %.1f fps shown", st.Video.FPS)
	}
	for _, se := range rep.Series {
		if strings.HasSuffix(se.Name, "alice->bob video") && (se.Metric == "fps" || se.Metric == "bitrate_kbps") {
			peak := 0.0
			for _, p := range se.Points {
				peak = max(peak, p.V)
			}
			t.Logf("%s peak %.1f", se.Name, peak)
		}
	}
}

func fmtMS(v *float64) string {
	if v == nil {
		return "absent"
	}
	return fmt.Sprintf("%.0f", *v)
}

// Simulcast over WHIP (RFC 9725 section 4.2 allows an offer with rid and
// simulcast, RFC 8853): simulcast-constrained with its publisher on WHIP
// and its watchers on WHEP. The SFU forwards one layer to each WHEP
// session and moves bob to the low layer during his 300 kbit/s cut and
// back up after, as over the signaling room; carol keeps the top layer
// (over WHEP she starts on it, and layer_min counts from there). On the
// old build the scenario was refused, and the client sent no layer (no
// MID/RID tags).
func TestWHIPSimulcast(t *testing.T) {
	s := mustLoad(t, "simulcast-constrained")
	s.Servers.SFU.Kind = scenarios.SFUWHIP
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	passed := map[string]bool{}
	for _, c := range rep.Checks {
		passed[c.Name] = c.Verdict == "pass"
	}
	for _, name := range []string{"layer alice->bob video at 9s", "layer alice->carol video at 9s", "layer alice->bob video at 14s",
		"layer alice->bob video at 32s", "layer alice->bob video at 43s", "layer_min alice->carol video", "fps alice->bob video"} {
		if !passed[name] {
			t.Errorf("%s: not passed (checks %+v)", name, rep.Checks)
		}
	}
	whep := 0
	for _, e := range rep.Events {
		if e.Source == "sfu" && e.Kind == "whep-session" {
			whep++
		}
	}
	if whep != 2 {
		t.Errorf("%d WHEP sessions, want bob's and carol's", whep)
	}
}

// The first WHEP watcher waits (up to 10 s) for every published track;
// alice, UDP-blocked with no TURN over TCP, never publishes, so carol
// joins at about 10 s. The scenario's clock does not wait with her:
// bob's flap takes his links down at 2 s and back at 5 s, as written
// (before, the schedules started after the joins: down at 10.1 s, and
// the flap lost its 3 s), and carol's time to connect is from her
// join, not from the wait (10,240 ms before).
func TestWHIPWatcherWaitKeepsScenarioClock(t *testing.T) {
	rep := runYAML(t, "whip-wait.yaml", `name: whip-wait
duration: 14s
servers:
  sfu: whip
ice: {turn_tcp: false}
participants:
  - name: alice
    nat: udp-blocked
    publish: [audio, video]
  - name: bob
    publish: [audio, video]
  - name: carol
timeline:
  - {at: 2s, flap: bob, for: 3s}
`)
	var joined float64
	for _, e := range rep.Events {
		if e.Source == "carol" && e.Kind == "joined" {
			joined = e.T
		}
	}
	if joined < 9 {
		t.Fatalf("carol joined at %.3f s; the test needs her held back by the wait for alice's tracks", joined)
	}
	var links []string
	for _, e := range rep.Events {
		if e.Source == "bob" && e.Kind == "link" {
			links = append(links, fmt.Sprintf("%.3f %s", e.T, e.Detail))
		}
	}
	want := []string{"2.000 uplink: down", "2.000 downlink: down", "5.000 uplink: up", "5.000 downlink: up"}
	if len(links) != len(want) {
		t.Fatalf("bob's link events %q, want %q", links, want)
	}
	for i := range want {
		if !strings.HasPrefix(links[i], want[i]) {
			t.Errorf("bob's link event %d: %q, want %q…", i, links[i], want[i])
		}
	}
	for _, p := range rep.Participants {
		if p.Name == "carol" && (p.TimeToConnectMS == nil || *p.TimeToConnectMS > 2000) {
			t.Errorf("carol's time to connect %s ms, want her join to connected (under 2 s), not the wait before it", fmtMS(p.TimeToConnectMS))
		}
	}
}
