package runner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// roomYAML writes a scenario of n participants behind mixed NATs, each
// publishing what publish(i) says, with extra YAML per participant.
func roomYAML(n int, duration string, publish func(i int) string, extra func(i int) string) string {
	nats := []string{"open", "full-cone", "restricted-cone", "port-restricted-cone", "symmetric"}
	var b strings.Builder
	fmt.Fprintf(&b, "name: room\ntopology: sfu\nduration: %s\nparticipants:\n", duration)
	for i := range n {
		fmt.Fprintf(&b, "  - name: p%02d\n    nat: %s\n    publish: %s\n    uplink: {delay: 10ms}\n", i, nats[i%len(nats)], publish(i))
		fmt.Fprintf(&b, "    downlink: {delay: 10ms%s}\n", extra(i))
	}
	return b.String()
}

func check(rep *reports.Report, name string) (string, bool) {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c.Verdict, true
		}
	}
	return "", false
}

// A room of 18, everyone publishing audio and video, connects and
// delivers every stream (the SFU's offers outgrew signaling's old 32 KiB
// limit at about 17 publishers: the old build delivered 510 of 612
// streams and lost the SFU at 5.1 s). About 50 s of wall time on a
// loaded 2-core machine; skipped with -short.
func TestRoomOf18Connects(t *testing.T) {
	if testing.Short() {
		t.Skip("a room of 18 takes about a minute")
	}
	const n = 18
	yaml := roomYAML(n, "6s", func(int) string { return "[audio, video]" }, func(int) string { return "" }) +
		"expect:\n  - metric: connected\n    min: 1\n"
	s, err := scenarios.Parse("room.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rep.Streams), n*(n-1)*2; got != want {
		t.Errorf("%d streams, want %d", got, want)
	}
	for _, c := range rep.Checks {
		if c.Verdict != "pass" {
			t.Errorf("%s: %s", c.Name, c.Reason)
		}
	}
	for _, p := range rep.Participants {
		if p.ConnectedFraction < 0.95 || p.Dropped != nil {
			t.Errorf("%s: connected %.3f of the call, dropped %+v", p.Name, p.ConnectedFraction, p.Dropped)
		}
	}
	// A subscriber offered a track after others waits for the next
	// keyframe the SFU's PLI throttle lets through: in a room this size the
	// first half second or so of a publisher's video is not forwarded to
	// everyone (conference-25: 0.915 of what was sent, at least).
	for _, st := range rep.Streams {
		if st.PacketsSent == 0 || float64(st.PacketsReceived) < 0.8*float64(st.PacketsSent) || st.LossFraction > 0.01 {
			t.Errorf("%s->%s %s: %d of %d packets", st.From, st.To, st.Kind, st.PacketsReceived, st.PacketsSent)
		}
	}
}

// A room where nobody receives anything fails its run, though it declares
// no check: every participant's downlink is down from the start (and no
// TURN: netem's TCP, which a down link does not hold back, would relay).
func TestNobodyReceivesFails(t *testing.T) {
	yaml := roomYAML(3, "4s", func(int) string { return "[audio, video]" }, func(int) string { return ", down: true" }) +
		"ice: {turn: false}\n"
	s, err := scenarios.Parse("room.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != "fail" {
		t.Errorf("verdict %s with %d streams; checks %+v", rep.Verdict, len(rep.Streams), rep.Checks)
	}
	for _, p := range []string{"p00", "p01", "p02"} {
		if v, ok := check(rep, p+" streams_received"); !ok || v != "fail" {
			t.Errorf("%s streams_received: %q (present %v), want fail", p, v, ok)
		}
	}
}

// A participant whose downlink goes down for good mid-call was not
// connected for the call: connected fails, connected_fraction and the
// drop say how much and why; the other participant is unaffected.
func TestOutageToTheEndIsNotConnected(t *testing.T) {
	yaml := roomYAML(2, "12s", func(int) string { return "[audio]" }, func(i int) string {
		if i == 1 {
			return ", schedule: [{at: 3s, down: true}]"
		}
		return ""
	}) + "expect:\n  - metric: connected\n    min: 1\n"
	s, err := scenarios.Parse("room.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := check(rep, "p01 connected"); v != "fail" {
		t.Errorf("p01 connected: %q, want fail (its link was down from 3 s to the end)", v)
	}
	if v, _ := check(rep, "p00 connected"); v != "pass" {
		t.Errorf("p00 connected: %q, want pass", v)
	}
	for _, p := range rep.Participants {
		t.Logf("%s: connected %v, fraction %.3f, dropped %+v", p.Name, p.Connected, p.ConnectedFraction, p.Dropped)
		if p.Name != "p01" {
			continue
		}
		// ICE declares the path disconnected 5 s after the last packet
		// (peer.New's ICE timeouts): at about 8 s of 12.
		if p.Dropped == nil || p.Dropped.AtS < 3 || p.Dropped.AtS > 9 || !strings.Contains(p.Dropped.Reason, "disconnected") {
			t.Errorf("p01 dropped %+v, want a disconnect between 3 and 9 s", p.Dropped)
		}
		if p.ConnectedFraction > 0.75 || p.ConnectedFraction < 0.2 {
			t.Errorf("p01 connected_fraction %.3f, want between 3/12 and 9/12", p.ConnectedFraction)
		}
	}
	if rep.Verdict != "fail" {
		t.Errorf("verdict %s, want fail", rep.Verdict)
	}
}
