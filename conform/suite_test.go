package conform

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// servers are started by TestConformance before the specs run.
var servers []server

// results collects every spec's result for the golden table.
var (
	resultsMu sync.Mutex
	results   = map[string]map[string]Result{} // server -> "check|url kind" -> result
)

// TestConformance starts coturn and rtclab's own server on loopback and
// runs the catalogue against both as Ginkgo specs, one per check and URL,
// labelled from the vocabulary (go test ./conform -ginkgo.label-filter=security).
// Each spec expects the status recorded in testdata/results.golden, the
// table docs/conform.md publishes; -update rewrites both from this run.
func TestConformance(t *testing.T) {
	servers = []server{startCoturn(t), startRTCLab(t)}
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, "conform")
}

// urlKind names a target by scheme and transport, stable across runs.
func urlKind(t Target) string {
	switch {
	case !t.TURN:
		return "stun"
	case t.Transport == "tls":
		return "turns"
	}
	return "turn/" + t.Transport
}

// conformanceIt is the one wrapper of a check as a spec (the Kubernetes
// ConformanceIt pattern): its text is the test name and RFC section, its
// labels the check's.
func conformanceIt(srv func() server, i int, c Check) {
	ginkgo.It(fmt.Sprintf("%s [%s]", c.ID, c.Section), ginkgo.Label(c.AllLabels()...), func() {
		s := srv()
		if i >= len(s.targets) {
			ginkgo.Skip("no such URL")
		}
		tg := s.targets[i]
		if c.TURN && !tg.TURN {
			ginkgo.Skip("needs a TURN URL")
		}
		r := RunOne(context.Background(), tg, c)
		key := c.ID + "|" + urlKind(tg)
		resultsMu.Lock()
		if results[s.name] == nil {
			results[s.name] = map[string]Result{}
		}
		results[s.name][key] = r
		resultsMu.Unlock()
		if *update {
			return
		}
		want, ok := golden()[s.name+"|"+key]
		gomega.Expect(ok).To(gomega.BeTrue(), "no golden status for %s %s (run with -update)", s.name, key)
		gomega.Expect(string(r.Status)).To(gomega.Equal(want), "%s %s: %s", s.name, urlKind(tg), Line(r))
	})
}

var _ = ginkgo.Describe("coturn", func() { catalogue(0) })
var _ = ginkgo.Describe("rtclab serve", func() { catalogue(1) })

// catalogue declares every check against every URL of servers[si].
func catalogue(si int) {
	srv := func() server { return servers[si] }
	// The URL slots: coturn has turn/udp, turn/tcp; rtclab stun, turn/udp,
	// turn/tcp, turns.
	slots := map[int][]string{0: {"turn/udp", "turn/tcp"}, 1: {"stun", "turn/udp", "turn/tcp", "turns"}}[si]
	for i, kind := range slots {
		ginkgo.Describe(kind, func() {
			for _, c := range Checks() {
				conformanceIt(srv, i, c)
			}
		})
	}
}

var (
	goldenOnce sync.Once
	goldenMap  map[string]string
)

const goldenFile = "testdata/results.golden"

// golden reads testdata/results.golden: "server|check|url-kind status".
func golden() map[string]string {
	goldenOnce.Do(func() {
		goldenMap = map[string]string{}
		b, _ := os.ReadFile(goldenFile)
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && !strings.HasPrefix(line, "#") {
				goldenMap[f[0]] = f[1]
			}
		}
	})
	return goldenMap
}

var _ = ginkgo.AfterSuite(func() {
	if !*update {
		return
	}
	var b bytes.Buffer
	b.WriteString("# server|check|url-kind status, written by go test ./conform -run TestConformance -update\n")
	var keys []string
	for srv, m := range results {
		for k, r := range m {
			keys = append(keys, srv+"|"+k+" "+string(r.Status))
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + "\n")
	}
	gomega.Expect(os.MkdirAll("testdata", 0o755)).To(gomega.Succeed())
	gomega.Expect(os.WriteFile(goldenFile, b.Bytes(), 0o644)).To(gomega.Succeed())
	gomega.Expect(writeDocsTable(results)).To(gomega.Succeed())
})
