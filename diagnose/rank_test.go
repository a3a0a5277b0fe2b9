package diagnose

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
)

// ranked makes a result with the metrics Rank reads over best.
func ranked(level Level, best pathprobe.Kind, mos, rtt, up, down float64) Result {
	r := Result{Schema: Schema, Verdict: Verdict{Level: level, Summary: string(level)}, BestPath: best,
		TURN: []turnprobe.Result{{OK: true}, {OK: false}}}
	if best == "" {
		return r
	}
	for _, m := range []Metric{{Name: MetricMOS, Value: mos}, {Name: MetricRTT, Value: rtt}, {Name: MetricUpload, Value: up}, {Name: MetricDownload, Value: down}} {
		m.Path = best
		r.Metrics = append(r.Metrics, m)
	}
	// A metric over another path must not count.
	r.Metrics = append(r.Metrics, Metric{Name: MetricMOS, Path: "other", Value: 5})
	return r
}

func TestRank(t *testing.T) {
	cases := []struct {
		name    string
		results map[string]Result
		order   string // servers best first, with ranks
	}{
		{"verdict first, even against a better RTT", map[string]Result{
			"a": ranked(Bad, pathprobe.Host, 4.4, 1, 9000, 9000),
			"b": ranked(Good, pathprobe.Host, 4.0, 80, 2000, 2000),
		}, "1:b 2:a"},
		{"direct before relay at the same verdict", map[string]Result{
			"relay":  ranked(Good, pathprobe.RelayUDP, 4.4, 10, 5000, 5000),
			"direct": ranked(Good, pathprobe.Srflx, 4.1, 60, 1000, 1000),
		}, "1:direct 2:relay"},
		{"no path last", map[string]Result{
			"none":  ranked(Warn, "", 0, 0, 0, 0),
			"relay": ranked(Warn, pathprobe.RelayTCP, 3.0, 300, 500, 500),
		}, "1:relay 2:none"},
		{"MOS, then RTT, then the smaller direction", map[string]Result{
			"low-mos":  ranked(Good, pathprobe.Host, 4.0, 5, 9000, 9000),
			"slow-rtt": ranked(Good, pathprobe.Host, 4.3, 40, 9000, 9000),
			"thin-up":  ranked(Good, pathprobe.Host, 4.3, 20, 800, 9000),
			"best":     ranked(Good, pathprobe.Host, 4.3, 20, 3000, 3000),
		}, "1:best 2:thin-up 3:slow-rtt 4:low-mos"},
		{"differences the table does not show do not rank", map[string]Result{
			"a": ranked(Good, pathprobe.Host, 4.412, 0.61, 1000, 1000),
			"b": ranked(Good, pathprobe.Host, 4.409, 0.64, 3000, 3000),
		}, "1:b 2:a"},
		{"ties share a rank", map[string]Result{
			"x": ranked(Good, pathprobe.Host, 4.3, 20, 3000, 3000),
			"y": ranked(Good, pathprobe.Host, 4.3, 20, 3000, 3000),
			"z": ranked(Warn, pathprobe.Host, 4.3, 20, 3000, 3000),
		}, "1:x 1:y 3:z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var servers []string
			var results []Result
			for _, s := range []string{"a", "b", "relay", "direct", "none", "low-mos", "slow-rtt", "thin-up", "best", "x", "y", "z"} {
				if r, ok := c.results[s]; ok {
					servers, results = append(servers, s), append(results, r)
				}
			}
			cmp := Rank(servers, results)
			var got []string
			for _, r := range cmp.Servers {
				got = append(got, strings.Join([]string{strconv.Itoa(r.Rank), r.Server}, ":"))
				if r.TURNOK != 1 || r.TURNTried != 2 || (r.MOS != nil && *r.MOS == 5) {
					t.Errorf("%s: %+v", r.Server, r)
				}
			}
			if strings.Join(got, " ") != c.order {
				t.Errorf("order %v, want %s", got, c.order)
			}
			var text, page, js bytes.Buffer
			if err := WriteComparisonText(&text, cmp); err != nil {
				t.Fatal(err)
			}
			if err := WriteComparisonHTML(&page, cmp); err != nil {
				t.Fatal(err)
			}
			if err := WriteComparisonJSON(&js, cmp); err != nil {
				t.Fatal(err)
			}
			first := cmp.Servers[0].Server
			if !strings.Contains(text.String(), "1. "+first) || !strings.Contains(page.String(), "1. "+first) || !strings.Contains(js.String(), ComparisonSchema) {
				t.Errorf("outputs lack the ranking:\n%s", text.String())
			}
		})
	}
}

// TestServeRank: the page's results come back ranked by their
// measurements, graded here (a posted verdict counts for nothing), with
// the CLI's words and table; anything else is refused.
func TestServeRank(t *testing.T) {
	// "slow" claims good but measured 400 ms RTT and 8 % loss; "fast"
	// claims bad but measured 20 ms and no loss.
	one := func(target, claim string, rtt, loss float64) string {
		return `{"schema":"rtclab.diagnose/v1","target":"` + target + `","partial":false,"verdict":{"level":"` + claim + `"},
			"turn":[{"url":"turn:192.0.2.1:3478?transport=udp","transport":"udp","ok":true,"ms":30}],
			"paths":[{"kind":"host","ok":true}],"best_path":"host",
			"quality":[{"path":"host","ping":{"sent":150,"received":150,"rtt_ms":` + strconv.FormatFloat(rtt, 'f', -1, 64) + `,"loss_pct":` + strconv.FormatFloat(loss, 'f', -1, 64) + `,"jitter_ms":2}}],
			"bandwidth":{"path":"host","up":{"mbps":5},"down":{"mbps":5}}}`
	}
	two := `{"results":[` + one("http://slow.example:8080", "good", 400, 8) + `,` + one("http://fast.example:8080", "bad", 20, 0) + `]}`
	nine := `{"results":[` + strings.TrimSuffix(strings.Repeat(one("http://x.example", "good", 20, 0)+",", 9), ",") + `]}`
	for _, tc := range []struct {
		method, body string
		code         int
	}{
		{"POST", two, 200},
		{"POST", `{"results":[]}`, 400},
		{"POST", nine, 400},
		{"POST", `{"results":[{"schema":"rtclab.diagnose/v1","invented":1}]}`, 400},
		{"POST", `{"results":[],"servers":[]}`, 400},
		{"POST", `{"results":[{"schema":"rtclab.diagnose/v1","target":"` + strings.Repeat("x", maxRankBytes) + `"}]}`, 413},
		{"GET", "", 405},
	} {
		req := httptest.NewRequest(tc.method, RankPath, strings.NewReader(tc.body))
		rec := httptest.NewRecorder()
		serveRank(rec, req)
		if rec.Code != tc.code {
			t.Errorf("%s %.60s: %d, want %d: %.200s", tc.method, tc.body, rec.Code, tc.code, rec.Body)
			continue
		}
		if tc.code != 200 {
			continue
		}
		var got RankedTable
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Servers) != 2 || got.Servers[0].Server != "http://fast.example:8080" || got.Servers[1].Server != "http://slow.example:8080" ||
			got.Servers[0].Verdict == Bad || got.Servers[1].Verdict == Good {
			t.Errorf("ranking %+v: want fast (graded from its measurements) before slow", got.Servers)
		}
		if got.Title != RankTitle || got.Note != RankNote || len(got.Table) != 3 || got.Table[1][1] != "http://fast.example:8080" {
			t.Errorf("words %q %q, table %v", got.Title, got.Note, got.Table)
		}
	}
}
