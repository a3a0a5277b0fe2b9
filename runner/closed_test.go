package runner_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/rtclab/rtclab/scenarios"
)

// Testname: closed-events
// Description: Every participant's PeerConnection closing at the end of a
// call MUST be in the report's events, the last one closed included: pion
// reports the state from a goroutine of its own, and a quiet machine once
// read the events before it ran.
var _ = Describe("Closing events", func() {
	It("quickstart reports every participant's closed PeerConnection", func() {
		s, err := scenarios.Load("quickstart")
		Expect(err).NotTo(HaveOccurred())
		rep := runScenario(s)
		closed := map[string]int{}
		for _, e := range rep.Events {
			if e.Kind == "connection-state" && strings.HasSuffix(e.Detail, ": closed") {
				closed[e.Source]++
			}
		}
		for _, p := range s.Participants {
			Expect(closed[p.Name]).To(Equal(1), "closed events of %s in %v", p.Name, closed)
		}
	})
})
