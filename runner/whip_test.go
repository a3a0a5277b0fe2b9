package runner

import (
	"strings"
	"testing"

	"github.com/rtclab/rtclab/scenarios"
)

// A WHIP publisher and two WHEP watchers through the embedded SFU, in
// virtual time: every stream is delivered to both, counted from the
// watchers' arrival logs against the publisher's send log; bob's lossy
// downlink shows as loss on his audio only (the case a report mixing
// the two watchers up would break).
func TestWHIPScenario(t *testing.T) {
	s, err := scenarios.Parse("whip.yaml", []byte(`name: whip-fanout
duration: 10s
servers:
  sfu: whip
participants:
  - name: carol
  - name: alice
    publish: [audio, video]
  - name: bob
    downlink: {loss: 3%}
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
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
}

func TestWHIPScenarioErrors(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown", "servers:\n  sfu: whep\n", `servers.sfu: unknown SFU "whep" (allowed: embedded, whip, or {whip: URL, whep: URL}); did you mean "whip"?`},
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
