package scenarios_test

import (
	"context"
	"testing"
	"testing/synctest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// suiteT is the *testing.T of the suite: synctest.Test needs one, and
// Ginkgo runs specs serially on the test's goroutine.
var suiteT *testing.T

// TestCatalogue runs the Ginkgo specs of the built-in scenario catalogue:
// every scenario shipped in the binary must load and pass in virtual time.
func TestCatalogue(t *testing.T) {
	suiteT = t
	RegisterFailHandler(Fail)
	RunSpecs(t, "Scenario catalogue")
}

func runBuiltin(name string) *reports.Report {
	s, err := scenarios.Load(name)
	Expect(err).NotTo(HaveOccurred())
	var rep *reports.Report
	synctest.Test(suiteT, func(*testing.T) {
		rep, err = scenarios.Run(context.Background(), s, scenarios.RunOptions{Clock: scenarios.ClockVirtual})
	})
	Expect(err).NotTo(HaveOccurred())
	return rep
}

var _ = Describe("The built-in scenario catalogue", func() {
	for _, name := range scenarios.BuiltinNames() {
		if known, ok := gccFindings[name]; ok {
			// Testname: rfc8867-verdicts
			// Description: Each RFC 8867 test case MUST produce exactly its
			// declared verdicts: every check passes except the ones that
			// record a measured weakness of pion's GCC, which MUST fail.
			It(name+" gives the verdicts it declares, GCC's known weaknesses failing", Label("catalogue", "bandwidth"), func() {
				rep := runBuiltin(name)
				Expect(rep.Checks).NotTo(BeEmpty(), "a catalogue scenario must declare what it expects")
				for _, c := range rep.Checks {
					if why, weak := known[c.Name]; weak {
						Expect(c.Verdict).To(Equal("fail"), "%s was expected to fail (%s); if pion's GCC improved, move the check to the passing ones", c.Name, why)
						continue
					}
					Expect(c.Verdict).To(Equal("pass"), "%s: %s", c.Name, c.Reason)
				}
			})
			continue
		}
		It(name+" passes every check it declares", Label("catalogue"), func() {
			rep := runBuiltin(name)
			for _, c := range rep.Checks {
				Expect(c.Verdict).To(Equal("pass"), "%s: %s", c.Name, c.Reason)
			}
			Expect(rep.Checks).NotTo(BeEmpty(), "a catalogue scenario must declare what it expects")
			Expect(rep.Verdict).To(Equal("pass"))
		})
	}

	// Testname: quickstart-paths
	// Description: In the sfu topology every participant MUST reach the SFU
	// (which has a public address) without a relay; in the p2p topology a
	// symmetric NAT facing a port-restricted cone NAT MUST relay
	// (RFC 4787 section 4.1 and 5: neither side's mapping is reachable).
	It("puts quickstart on direct paths and quickstart-p2p on a relay", Label("catalogue", "ice"), func() {
		for _, p := range runBuiltin("quickstart").Participants {
			Expect(p.SelectedPair).NotTo(BeNil())
			Expect(p.SelectedPair.Local).NotTo(Equal("relay"), p.Name)
		}
		for _, p := range runBuiltin("quickstart-p2p").Participants {
			Expect(p.SelectedPair).NotTo(BeNil())
			Expect([]string{p.SelectedPair.Local, p.SelectedPair.Remote}).To(ContainElement("relay"), p.Name)
		}
	})
})

// gccFindings lists, for every RFC 8867 test case, the checks that fail
// because pion's GCC (interceptor v0.1.42) really does badly there. They
// stay in the scenario files as verdicts; the catalogue expects them to
// fail, so that a change in either direction is noticed.
var gccFindings = map[string]map[string]string{
	"rfc8867/5.1": {},
	"rfc8867/5.2": {},
	"rfc8867/5.3": {},
	"rfc8867/5.4": {
		"estimate_overshoot video-1": "pion/interceptor#299: an app-limited flow's estimate grows without bound, 3.5x its share",
		"fairness_5s senders uplink": "the late joiner ramps up slowly: 0.48 at seed 1, 0.44-0.51 over seeds 1-5",
	},
	"rfc8867/5.5": {
		"fairness_5s senders uplink": "RTT unfairness: the 10-50 ms flows get 0.94-1.12 Mbps, the 100 and 150 ms flows 0.41 and 0.34",
	},
	"rfc8867/5.6": {
		"fairness_5s senders uplink": "at the edge of an even share against a long TCP flow: 0.48 at seed 1, 0.48-0.64 over seeds 1-5",
		"utilization senders uplink": "with that share the media flow uses 32% of the link (643 of 2000 kbps, TCP 1213) at seed 1",
	},
	"rfc8867/5.6_1000ms": {
		"fairness_5s senders uplink": "a loss-based TCP flow takes three quarters of the link once the buffer is 1 s",
	},
	"rfc8867/5.7": {},
	"rfc8867/5.8": {},
}
