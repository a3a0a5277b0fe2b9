package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/rtclab/rtclab/bubble"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
)

// repeatVariants are links on top of quickstart that once broke exact
// repeats (issue #11): jitter of each kind, a rate limit below the load, a
// capacity trace; set on bob's downlink.
var repeatVariants = map[string]string{
	"jitter uniform":  "{delay: 30ms, jitter: 15ms}",
	"jitter normal":   "{delay: 30ms, jitter: 15ms, jitter_distribution: normal}",
	"jitter reorders": "{delay: 30ms, jitter: 15ms, reorder: true}",
	"rate 300kbps":    "{delay: 20ms, rate: 300kbps}",
	"rate 2Mbps":      "{delay: 20ms, rate: 2Mbps}",
	"trace dip":       "{delay: 20ms, trace: builtin:dip-2m-300k.mahi}",
}

// repeatable is what must repeat exactly: every number and string of
// every stream and participant, and every event in its order (what a
// support engineer reads as what happened: server-restarts' clients once
// rejoined signaling in whatever order the scheduler picked, and found
// other peers in the room from run to run), flattened to path -> value.
func repeatable(rep *reports.Report) map[string]string {
	b, err := json.Marshal(struct {
		Streams      any `json:"streams"`
		Participants any `json:"participants"`
		Events       any `json:"events"`
	}{rep.Streams, rep.Participants, rep.Events})
	Expect(err).NotTo(HaveOccurred())
	var v any
	Expect(json.Unmarshal(b, &v)).To(Succeed())
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		default:
			out[path] = fmt.Sprint(x)
		}
	}
	walk("", v)
	return out
}

// differing lists the paths whose values differ. SSRCs (streams[].wire)
// are identifiers pion draws at random in every run, not results.
// pion_jitter_ms, pion's own jitter shown beside rtclab's for comparison,
// may differ by a few microseconds: pion's stats interceptor stamps a
// packet with the time its reader goroutine runs, and in a room of 25 or
// 50 on a loaded machine a reader now and then runs one instant late
// (0.001-0.002 ms in conference-25 and webinar-50, in 1 of 3 runs at load
// average 19); rtclab's jitter_ms, from the arrival logs, repeats.
func differing(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] == v || strings.Contains(k[strings.LastIndex(k, ".")+1:], "ssrc") {
			continue
		}
		if strings.HasSuffix(k, ".pion_jitter_ms") && closeTo(v, b[k], 0.005) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s then %s", k, v, b[k]))
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k+": absent then present")
		}
	}
	sort.Strings(out)
	return out
}

// eventOrderRaces are the built-in scenarios whose events[] do not repeat
// yet, and why; their streams[] and participants[] are still compared.
var eventOrderRaces = map[string]string{
	// Found with events added to the grid: in 1 run of 3 (4 of 9 on one
	// build), the "track" events of v02 and v44 at 0.146 s and 0.150 s
	// swap places. Both viewers' first audio packet arrives at one
	// nanosecond: their downlinks' skews (phase.LinkSkew, 1.399 and
	// 1.371 µs) differ by as many nanoseconds as their copies lie apart
	// in the SFU's uplink burst (netem sends a burst 1 ns apart), so two
	// pion OnTrack goroutines on two hosts run at one instant in the
	// order the scheduler picks. Nothing else in the report moves.
	"webinar-50": "two viewers' first packets arrive at one nanosecond",
}

func runScenario(s *scenarios.Scenario) *reports.Report {
	var rep *reports.Report
	var err error
	bubble.Run(suiteT, func() {
		rep, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual})
	})
	Expect(err).NotTo(HaveOccurred())
	return rep
}

// Testname: repeatability-grid
// Description: Run three times with one seed, every built-in scenario and
// quickstart with jitter (uniform, normal, reordering), rate limits and a
// capacity trace MUST give identical streams[], participants[] and
// events[] (but the events of eventOrderRaces).
var _ = Describe("Repeatability", Label("repeatability"), func() {
	checkN := func(runs int, load func() *scenarios.Scenario) {
		start := time.Now()
		run := func() map[string]string {
			s := load()
			rep := runScenario(s)
			if why, ok := eventOrderRaces[s.Name]; ok {
				GinkgoWriter.Printf("events not compared: %s\n", why)
				rep.Events = nil
			}
			return repeatable(rep)
		}
		first := run()
		for i := 2; i <= runs; i++ {
			Expect(differing(first, run())).To(BeEmpty(), "run %d differs from run 1", i)
		}
		GinkgoWriter.Printf("%d runs identical in %v\n", runs, time.Since(start))
	}
	check := func(load func() *scenarios.Scenario) { checkN(3, load) }
	for _, name := range scenarios.BuiltinNames() {
		It(name+" repeats exactly with one seed", func() {
			check(func() *scenarios.Scenario {
				s, err := scenarios.Load(name)
				Expect(err).NotTo(HaveOccurred())
				// The RFC 8867 cases run up to 300 s with many flows (one
				// takes 90 s of wall time): their first 30 s are enough to
				// meet every timer many times over; TestFlowsRepeat runs
				// the whole set.
				if strings.HasPrefix(name, scenarios.RFC8867+"/") {
					s.Duration.Duration = min(s.Duration.Duration, 30*time.Second)
				}
				return s
			})
		})
	}
	// The README listed this race: with TURN over TCP offered as well,
	// about one p2p run in four connected 200 ms later.
	It("quickstart-p2p with TURN over TCP offered repeats exactly with one seed", func() {
		check(func() *scenarios.Scenario {
			s, err := scenarios.Load("quickstart-p2p")
			Expect(err).NotTo(HaveOccurred())
			on := true
			s.ICE.TURNTCP = &on
			return s
		})
	})
	// The audit's case: pion's NACK responder resent the repairs of
	// carol's two video streams, after her ICE restart on TURN over TCP,
	// on goroutines started at one instant, and her rate-limited downlink
	// took whichever burst came first (stack/peer resendorder.go). Two
	// outcomes, about even: five runs catch it in 15 of 16 checks.
	It("an ICE restart on TURN over TCP in a busy room repeats exactly with one seed", func() {
		checkN(5, func() *scenarios.Scenario {
			s, err := scenarios.Parse("ice-restart-turn-tcp.yaml", []byte(iceRestartTURNTCPYAML))
			Expect(err).NotTo(HaveOccurred())
			return s
		})
	})
	for name, link := range repeatVariants {
		It("quickstart with "+name+" repeats exactly with one seed", func() {
			check(func() *scenarios.Scenario {
				s, err := scenarios.Parse("variant.yaml", []byte(fmt.Sprintf(variantYAML, link)))
				Expect(err).NotTo(HaveOccurred())
				return s
			})
		})
	}
})

// variantYAML is quickstart with bob's downlink set by the variant.
const variantYAML = `name: repeat-variant
topology: sfu
duration: 20s
participants:
  - name: alice
    nat: port-restricted-cone
    publish: [audio, video]
  - name: bob
    nat: symmetric
    publish: [audio, video]
    downlink: %s
`

// iceRestartTURNTCPYAML is the audit's repeat-divergence scenario cut
// to what diverged: carol, behind a NAT that blocks UDP (TURN over TCP)
// on a 700 kbit/s downlink, restarts ICE while alice and bob send video.
const iceRestartTURNTCPYAML = `name: repeat-ice-restart-turn-tcp
topology: sfu
duration: 9s
participants:
  - name: alice
    nat: symmetric
    publish: [audio, video]
    simulcast: true
  - name: bob
    nat: port-restricted-cone
    publish: [audio, video]
  - name: carol
    nat: udp-blocked
    publish: [audio]
    downlink: {delay: 40ms, rate: 700kbps, queue: 50ms, jitter: 5ms}
timeline:
  - {at: 5s, ice_restart: carol}
`

// closeTo reports whether two printed numbers are within tol.
func closeTo(a, b string, tol float64) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && math.Abs(x-y) <= tol
}
