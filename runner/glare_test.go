package runner

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/agent"
	"github.com/rtclab/rtclab/stack/sfu"
	"github.com/rtclab/rtclab/stack/signaling"
)

// The SFU's renegotiation offer and a client's offer cross (RFC 8829
// section 4.1.8.1, glare): the SFU restarts at 4 s, and when the fresh
// SFU offers alice the tracks bob has just republished to it, alice
// restarts ICE at that same instant, before she can read its offer
// (signaling takes no virtual time, so the crossing is made in the
// signaling server's relay: alice's restart is in her loop before the
// SFU's offer reaches her). Perfect negotiation (stack/agent glare.go,
// stack/sfu onOffer) settles it: the SFU, impolite, ignores alice's offer
// ("glare"); alice, polite, rolls hers back ("rollback"), answers the
// SFU's, and offers her ICE restart again, which the SFU answers. Both
// ends are then stable (every offer relayed after the crossing is
// answered, but the one the SFU ignored), and media flows on every stream
// to the end of the call, counted from the receivers' logs.
//
// Without the collision handling it fails: with the SFU's glare branch
// removed, pion refuses alice's offer in have-local-offer and the SFU
// only logs the error (no "glare" event); with alice impolite, both ends
// ignore the other's offer and neither is ever answered.
func TestSFUOfferCollision(t *testing.T) {
	s, err := scenarios.Parse("sfu-glare.yaml", []byte(`name: sfu-glare
topology: sfu
duration: 10s
participants:
  - name: alice
    nat: port-restricted-cone
    publish: [audio, video]
  - name: bob
    nat: port-restricted-cone
    publish: [audio, video]
    uplink: {delay: 15ms}
    downlink: {delay: 15ms}
timeline:
  - {at: 4s, restart: sfu}
expect:
  - {metric: recovery_ms, max: 1500}
`))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		start   time.Time
		alice   *agent.Agent
		crossed time.Time
		after   []string // alice<->SFU offers and answers relayed from the crossing on
	)
	hooks := &testHooks{
		agentStarted: func(name string, a *agent.Agent) {
			mu.Lock()
			defer mu.Unlock()
			if name == "alice" {
				alice, start = a, time.Now()
			}
		},
		relayed: func(m signaling.Message) {
			if m.Type != signaling.TypeOffer && m.Type != signaling.TypeAnswer {
				return
			}
			if !(m.From == sfu.Name && m.To == "alice") && !(m.From == "alice" && m.To == sfu.Name) {
				return
			}
			mu.Lock()
			fire := crossed.IsZero() && m.From == sfu.Name && m.Type == signaling.TypeOffer &&
				alice != nil && time.Since(start) > 4*time.Second
			if fire {
				crossed = time.Now()
			}
			if !crossed.IsZero() {
				after = append(after, m.From+" "+m.Type)
			}
			a := alice
			mu.Unlock()
			if fire {
				// Returns once alice's loop has taken the restart, so
				// it runs before she reads the offer relayed next.
				a.RestartICE(context.Background())
			}
		},
	}
	rep, err := runVirtual(t, s, Options{hooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	logFaults(t, rep)
	if crossed.IsZero() {
		t.Fatal("the fresh SFU never offered alice anything: no crossing made")
	}
	at := crossed.Sub(start).Seconds()
	t.Logf("offers crossed at %.3f s; relayed from then on: %v", at, after)

	if ev := events(rep, "sfu", "glare"); len(ev) != 1 || !strings.Contains(ev[0], "alice") {
		t.Errorf("SFU's ignored offers %v, want alice's one", ev)
	}
	if ev := events(rep, "alice", "rollback"); len(ev) != 1 {
		t.Errorf("alice's rollbacks %v, want 1", ev)
	}
	// Her crossing restart, then the one offered again once stable.
	if ev := events(rep, "alice", "ice-restart"); len(ev) != 2 {
		t.Errorf("alice's ICE restarts %v, want 2", ev)
	}
	for _, who := range []string{"alice", "bob", "sfu"} {
		if ev := events(rep, who, "error"); len(ev) != 0 {
			t.Errorf("%s's errors: %v", who, ev)
		}
	}
	// Settled: but for alice's offer the SFU ignored (the second
	// message), every offer relayed from the crossing on is answered by
	// the other end before anything else is offered.
	if len(after) < 5 || after[0] != "sfu offer" || after[1] != "alice offer" {
		t.Fatalf("alice<->SFU negotiation from the crossing on: %v, want the SFU's offer, alice's crossing one, and answers to all but hers", after)
	}
	rest := append([]string{after[0]}, after[2:]...)
	for i := 0; i < len(rest); i += 2 {
		if i+1 == len(rest) {
			t.Errorf("%s never answered (negotiation from the crossing on: %v)", rest[i], after)
			break
		}
		from, kind, _ := strings.Cut(rest[i], " ")
		by, reply, _ := strings.Cut(rest[i+1], " ")
		if kind != "offer" || reply != "answer" || by == from {
			t.Errorf("%q followed by %q: not an offer and the other end's answer (negotiation from the crossing on: %v)", rest[i], rest[i+1], after)
			break
		}
	}

	checkRecovered(t, rep, 500, 1500)
	// Media on every stream after the crossing: the bitrate series (bytes
	// the receiver logged in the last second) of each stream's latest
	// incarnation (" #2": through the fresh SFU) is never zero from one
	// second after the crossing to the end: no stream stalls for a second.
	latest := map[string]analysis.Series{}
	for _, se := range rep.Series {
		if se.Metric != "bitrate_kbps" {
			continue
		}
		base, _, _ := strings.Cut(se.Name, " #")
		if old, ok := latest[base]; !ok || old.Name < se.Name {
			latest[base] = se
		}
	}
	if len(latest) != 4 {
		t.Errorf("bitrate series of %d streams, want 4", len(latest))
	}
	for _, se := range latest {
		n := 0
		for _, p := range se.Points {
			if p.T < at+1 {
				continue
			}
			n++
			if p.V <= 0 {
				t.Errorf("%s: nothing received in the second before %.1f s", se.Name, p.T)
				break
			}
		}
		if n < 40 {
			t.Errorf("%s: %d samples after the crossing, want 40 or more", se.Name, n)
		}
	}
}
