package runner_test

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/rtclab/rtclab/bubble"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
)

// suiteT is the *testing.T of the suite: a bubble needs one, and
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
	bubble.Run(suiteT, func() {
		rep, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual})
	})
	Expect(err).NotTo(HaveOccurred())
	return rep
}

var _ = Describe("The built-in scenario catalogue", func() {
	for _, name := range scenarios.BuiltinNames() {
		if strings.HasPrefix(name, scenarios.RFC8867+"/") {
			// Testname: rfc8867-verdicts
			// Description: Each RFC 8867 test case MUST pass on today's
			// pion: every check passes except the known failures its YAML
			// declares (with a reason and an upstream link), and a check
			// MUST say whose bound it applies (RFC criterion or rtclab
			// guideline, with the source).
			It(name+" passes, its declared known failures listed", Label("catalogue", "bandwidth"), func() {
				rep := runBuiltin(name)
				Expect(rep.Checks).NotTo(BeEmpty(), "a catalogue scenario must declare what it expects")
				for _, c := range rep.Checks {
					Expect(c.Verdict).To(BeElementOf("pass", "known-failure"), "%s: %s", c.Name, c.Reason)
					Expect(c.Criterion).To(BeElementOf("rfc", "guideline"), c.Name)
					Expect(c.Source).NotTo(BeEmpty(), c.Name)
					if c.Verdict == "known-failure" {
						Expect(c.Known.Link).To(HavePrefix("https://"), c.Name)
					}
				}
				Expect(rep.Verdict).To(Equal("pass"))
			})
			continue
		}
		labels := Labels{"catalogue"}
		if slowScenarios[name] {
			labels = append(labels, "slow")
		}
		It(name+" passes every check it declares", labels, func() {
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

// slowScenarios take minutes of wall time (conference-25 forwards 1,200
// streams: 279 s on a 2-core machine at load 20); they are labelled
// "slow" so that `ginkgo --label-filter='!slow'` leaves them out, and
// `make test` still runs them.
var slowScenarios = map[string]bool{"conference-25": true, "webinar-50": true}
