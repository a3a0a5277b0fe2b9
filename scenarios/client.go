package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rtclab/rtclab/yamldecode"
)

// Clients a participant can be (participant field client).
const (
	// ClientPion is rtclab's simulated client: pion with the committed
	// clips (the default).
	ClientPion = "pion"
	// ClientChromium is Debian's chromium, headless, with a fake camera
	// and microphone made from the committed clips, in the participant's
	// namespace of the kernel backend (package stack/browser).
	ClientChromium = "chromium"
)

// Clients lists the allowed client values.
var Clients = []string{ClientPion, ClientChromium}

// IsChromium reports whether the participant is a Chromium.
func (p *Participant) IsChromium() bool { return p.Client == ClientChromium }

// HasChromium reports whether any participant is a Chromium.
func (s *Scenario) HasChromium() bool {
	return slices.ContainsFunc(s.Participants, func(p Participant) bool { return p.IsChromium() })
}

// validateClients checks every participant's client and what a Chromium
// participant can do: it runs on real sockets in its own namespace
// (backend: kernel), calls p2p or through the embedded SFU (its page
// plays the pion agents' roles, rejoins and restarts ICE as they do),
// and sends what its fake devices give (audio and video).
func (s *Scenario) validateClients(bad func(msg string, path ...any)) {
	for i := range s.Participants {
		p := &s.Participants[i]
		at := func(rest ...any) []any { return append([]any{"participants", i}, rest...) }
		switch p.Client {
		case "":
			p.Client = ClientPion
			continue
		case ClientPion:
			continue
		case ClientChromium:
		default:
			bad(fmt.Sprintf("unknown client %q (allowed: %s)%s", p.Client, strings.Join(Clients, ", "), yamldecode.DidYouMean(p.Client, Clients)), at("client")...)
			continue
		}
		if !s.Kernel() {
			bad("chromium needs backend: kernel (a browser runs on real sockets in its own network namespace, in real time)", at("client")...)
		}
		switch {
		case s.Topology != "p2p" && s.Topology != "sfu":
			bad(fmt.Sprintf("chromium takes part in the p2p and sfu topologies only, not %q", s.Topology), at("client")...)
		case s.Topology == "sfu" && s.OverHTTP():
			bad(fmt.Sprintf("chromium joins the embedded SFU through the signaling room, not servers.sfu: %s (WHIP/WHEP)", s.SFUKind()), at("client")...)
		}
		if len(p.Publish) > 0 && !(len(p.Publish) == 2 && slices.Contains(p.Publish, "audio") && slices.Contains(p.Publish, "video")) {
			bad("a chromium participant sends its fake camera and microphone: leave publish out or write [audio, video]", at("publish")...)
		}
		for _, f := range []struct {
			set  bool
			name string
		}{{p.Video != "" && p.Video != "vp8", "video"}, {p.Simulcast, "simulcast"}, {len(p.Codecs) > 0, "codecs"}} {
			if f.set {
				bad(fmt.Sprintf("is not available for client: chromium (Chromium negotiates its own codecs: VP8 video from the clip, Opus audio)"), at(f.name)...)
			}
		}
		p.Publish = []string{"audio", "video"}
	}
}
