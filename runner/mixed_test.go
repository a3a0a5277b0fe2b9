package runner

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab/probes"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/agent"
)

// Mixed rooms (issue #23): a participant who sends simulcast, or plain VP8,
// and another who sends any codec, everyone publishing audio and video,
// through the SFU and peer to peer. Every track one participant publishes
// must reach every other participant and carry media. The counts come
// from the agents themselves (what each sender wrote, what each
// receiver's application got), not from the report, so a track that was
// negotiated and never arrived fails here whether or not the report lists
// it.
func TestMixedRooms(t *testing.T) {
	type cell struct {
		topology  string
		simulcast bool   // alice sends VP8 simulcast; else plain VP8
		other     string // bob's video codec; "simulcast" for VP8 simulcast
		bobFirst  bool   // bob joins first (p2p: the first one offers)
		loss      string // alice's downlink loss, "" for none
	}
	var cells []cell
	for _, topo := range []string{"sfu", "p2p"} {
		for _, sim := range []bool{false, true} {
			for _, codec := range []string{"vp8", "vp9", "h264", "av1"} {
				cells = append(cells, cell{topology: topo, simulcast: sim, other: codec})
			}
		}
	}
	// Who offers decides whose track lands on whose m-line; loss on the
	// simulcast sender's downlink makes its receive path repair.
	cells = append(cells,
		cell{topology: "p2p", simulcast: true, other: "vp8", bobFirst: true},
		cell{topology: "sfu", simulcast: true, other: "vp8", bobFirst: true},
		cell{topology: "p2p", simulcast: true, other: "h264", loss: "5%"},
		cell{topology: "sfu", simulcast: true, other: "vp8", loss: "5%"},
		cell{topology: "p2p", simulcast: true, other: "simulcast"},
		cell{topology: "sfu", simulcast: true, other: "simulcast"},
	)
	for _, c := range cells {
		name := fmt.Sprintf("%s/alice-%s/bob-%s", c.topology, map[bool]string{false: "vp8", true: "simulcast"}[c.simulcast], c.other)
		if c.bobFirst {
			name += "/bob-first"
		}
		if c.loss != "" {
			name += "/loss-" + strings.TrimSuffix(c.loss, "%")
		}
		t.Run(name, func(t *testing.T) {
			alice := "  - name: alice\n    publish: [audio, video]\n"
			if c.simulcast {
				alice += "    simulcast: true\n"
			}
			if c.loss != "" {
				alice += "    downlink: {loss: " + c.loss + "}\n"
			}
			bob := "  - name: bob\n    publish: [audio, video]\n    video: " + c.other + "\n"
			if c.other == "simulcast" {
				bob = "  - name: bob\n    publish: [audio, video]\n    simulcast: true\n"
			}
			people := alice + bob
			if c.bobFirst {
				people = bob + alice
			}
			yaml := "name: mixed\ntopology: " + c.topology + "\nduration: 4s\nparticipants:\n" + people
			s, err := scenarios.Parse("mixed.yaml", []byte(yaml))
			if err != nil {
				t.Fatal(err)
			}
			checkEveryTrackDelivers(t, s, lossOf(c.loss))
		})
	}
}

// The issue's own room, as filed: alice simulcast, bob plain VP8, carol
// VP9, through the SFU. Before the fix bob's video never reached alice.
func TestMixedRoomOfThree(t *testing.T) {
	s, err := scenarios.Parse("mixed.yaml", []byte(`name: mixed
topology: sfu
duration: 10s
participants:
  - name: alice
    publish: [audio, video]
    simulcast: true
  - name: bob
    publish: [audio, video]
  - name: carol
    publish: [audio, video]
    video: vp9
expect:
  - metric: connected
    min: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	checkEveryTrackDelivers(t, s, 0)
}

func lossOf(pct string) float64 {
	var v float64
	if pct != "" {
		fmt.Sscanf(pct, "%g%%", &v)
	}
	return v / 100
}

// Thresholds of checkEveryTrackDelivers.
const (
	// mixedStartup is what a subscriber may miss at the start: the SFU
	// offers a track after its first packet and forwards video from the
	// next keyframe; a p2p receiver gets everything. Frames are counted
	// from the first one received, so only the renegotiation round trip
	// is lost, well under 10 %.
	mixedStartup = 0.10
	// mixedRepairSlack is the loss after repair allowed above none: a
	// packet lost at the very end of the call has no time to be repaired.
	mixedRepairSlack = 0.01
)

// checkEveryTrackDelivers runs s in a synctest bubble and checks, from
// the agents' own logs, that every participant receives every track every
// other participant publishes: at least (1 - loss - mixedStartup) of the
// frames the publisher sent, and loss after repair (RFC 3550 appendix A.3,
// counted by the receiving application) of at most mixedRepairSlack for
// video, which NACK and RTX repair, and the link's own loss for audio.
func checkEveryTrackDelivers(t *testing.T, s *scenarios.Scenario, loss float64) {
	t.Helper()
	var r *run
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r = &run{s: s, opt: Options{Clock: ClockVirtual}, log: slog.New(slog.DiscardHandler), rec: probes.NewRecorder(start, nil), start: start}
		if err := r.exec(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		return
	}
	for _, pub := range r.agents {
		for _, sub := range r.agents {
			if pub == sub {
				continue
			}
			for _, kind := range pub.p.Publish {
				sent := sentFrames(pub.a, sub.p.Name, s.Topology, kind)
				if sent == 0 {
					t.Errorf("%s sent no %s frames", pub.p.Name, kind)
					continue
				}
				var got []*agent.Receiver
				for _, c := range sub.a.Conns() {
					for _, rc := range c.Receivers() {
						if rc.From == pub.p.Name && rc.Kind == kind {
							got = append(got, rc)
						}
					}
				}
				if len(got) == 0 {
					t.Errorf("%s->%s %s: no track received (%s sent %d frames)", pub.p.Name, sub.p.Name, kind, pub.p.Name, sent)
					continue
				}
				for _, rc := range got {
					all, err := rc.Frames()
					if err != nil {
						t.Fatal(err)
					}
					frames := len(all)
					n := rc.Counts()
					t.Logf("%s->%s %s %s ssrc %d: %d/%d frames, %d/%d packets", pub.p.Name, sub.p.Name, kind, rc.Codec, rc.SSRC, frames, sent, n.Unique, n.Expected)
					allowed := mixedRepairSlack
					if kind == "audio" { // no retransmission for Opus: the link's loss stays
						allowed += unrepairedLoss(loss, sent)
					}
					if min := (1 - allowed - mixedStartup) * float64(sent); float64(frames) < min {
						t.Errorf("%s->%s %s %s: received %d of %d frames, want at least %.0f", pub.p.Name, sub.p.Name, kind, rc.Codec, frames, sent, min)
					}
					if f := n.LossFraction(); f > allowed {
						t.Errorf("%s->%s %s %s: loss after repair %.4f (%d of %d), want at most %.4f", pub.p.Name, sub.p.Name, kind, rc.Codec, f, n.Lost(), n.Expected, allowed)
					}
				}
			}
		}
	}
}

// unrepairedLoss is the most loss a stream of n packets without repair
// may show on a link that drops a fraction p independently: p plus three
// standard deviations of the binomial share.
func unrepairedLoss(p float64, n int) float64 {
	if p == 0 {
		return 0
	}
	return p + 3*math.Sqrt(p*(1-p)/float64(n))
}

// sentFrames is how many frames a publishes of kind towards sub (towards
// the SFU in an SFU room); a simulcast track counts its lowest layer,
// every layer sending the same frames.
func sentFrames(a *agent.Agent, sub, topology, kind string) int {
	remote := sub
	if topology == "sfu" {
		remote = "sfu"
	}
	for _, c := range a.Conns() {
		if c.Remote != remote {
			continue
		}
		for _, s := range c.Senders() {
			if s.Clip.Kind() == kind {
				return len(s.SentFrames(0))
			}
		}
	}
	return 0
}
