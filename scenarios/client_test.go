package scenarios_test

import (
	"strings"
	"testing"

	"github.com/rtclab/rtclab/scenarios"
)

const chromiumCall = `name: c
duration: 10s
topology: p2p
backend: kernel
participants:
  - name: alice
    client: chromium
    nat: symmetric
  - name: bob
    nat: port-restricted-cone
`

func TestClientChromium(t *testing.T) {
	s, err := scenarios.Parse("t.yaml", []byte(chromiumCall))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Participants[0].IsChromium() || s.Participants[1].Client != scenarios.ClientPion {
		t.Errorf("clients %q %q, want chromium and the default pion", s.Participants[0].Client, s.Participants[1].Client)
	}
	if got := strings.Join(s.Participants[0].Publish, ","); got != "audio,video" {
		t.Errorf("a chromium participant publishes %q, want audio,video", got)
	}
	// Through the embedded SFU, with a server restart and an ICE restart
	// of the browser on the timeline.
	sfuCall := strings.Replace(chromiumCall, "topology: p2p", "topology: sfu", 1) +
		"timeline:\n  - {at: 4s, restart: sfu, for: 1s}\n  - {at: 7s, ice_restart: alice}\n"
	if _, err := scenarios.Parse("t.yaml", []byte(sfuCall)); err != nil {
		t.Errorf("chromium through the SFU with restarts: %v", err)
	}
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown client", strings.Replace(chromiumCall, "client: chromium", "client: chromim", 1),
			`t.yaml:7: participants[0].client: unknown client "chromim" (allowed: pion, chromium)`},
		{"in-process backend", strings.Replace(chromiumCall, "backend: kernel\n", "", 1),
			"t.yaml:6: participants[0].client: chromium needs backend: kernel"},
		{"flows topology", strings.Replace(chromiumCall, "topology: p2p", "topology: flows", 1),
			`participants[0].client: chromium takes part in the p2p and sfu topologies only, not "flows"`},
		{"sfu over WHIP", strings.Replace(chromiumCall, "topology: p2p", "topology: sfu\nservers:\n  sfu: whip", 1),
			"participants[0].client: chromium joins the embedded SFU through the signaling room, not servers.sfu: whip"},
		{"codecs", strings.Replace(chromiumCall, "client: chromium", "client: chromium\n    codecs: [vp9]", 1),
			"t.yaml:8: participants[0].codecs: is not available for client: chromium"},
		{"publish audio only", strings.Replace(chromiumCall, "client: chromium", "client: chromium\n    publish: [audio]", 1),
			"t.yaml:8: participants[0].publish: a chromium participant sends its fake camera and microphone"},
	} {
		_, err := scenarios.Parse("t.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
