package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/analysis"
)

func bweReport() *Report {
	f := func(v float64) *float64 { return &v }
	series := func(name, metric, unit string, v func(t float64) float64) analysis.Series {
		s := analysis.Series{Name: name, Metric: metric, Unit: unit}
		for i := range 100 {
			t := float64(i) / 10
			s.Points = append(s.Points, analysis.Point{T: t, V: v(t)})
		}
		return s
	}
	return &Report{
		Schema:   Schema,
		Scenario: ScenarioInfo{Name: "rfc8867-5.1", Topology: "flows", Clock: "virtual", Seed: 1, DurationS: 10},
		Verdict:  analysis.Pass,
		Checks:   []analysis.Check{analysis.Evaluate("utilization sender uplink", 0.7, analysis.Bound{Min: f(0.5)})},
		Series: []analysis.Series{
			series("capacity sender uplink", "capacity_kbps", "kbps", func(t float64) float64 { return 1000 }),
			series("estimate video", "estimate_kbps", "kbps", func(t float64) float64 { return 150 + 80*t }),
			series("send video", "send_kbps", "kbps", func(t float64) float64 { return 150 + 75*t }),
			series("receive video", "receive_kbps", "kbps", func(t float64) float64 { return 150 + 74*t }),
			series("queue delay video", "queue_delay_ms", "ms", func(t float64) float64 { return 2 * t }),
		},
		Bandwidth: &Bandwidth{
			Links: []BottleneckLink{{Name: "sender uplink", Flows: []string{"video"}, Utilization: f(0.7)}},
			Flows: []BandwidthFlow{{
				Name: "video", Kind: "media", From: "sender", To: "receiver", Link: "sender uplink", StopS: 10,
				RateKbps: 525, ReceiveKbps: 520, RampUpS: f(8.5), RampUpConverged: true, Convergence: []Convergence{{AtS: 5, Change: "capacity 600 kbps", ShareKbps: 600, S: 1.5, Converged: true}},
				QueueDelayP50MS: f(9), QueueDelayP95MS: f(18), DelayCDFMS: []float64{0, 5, 9, 14, 20},
				LossFraction: f(0.01), ResidualLossFraction: f(0), EstimateOvershoot: f(1.3),
			}},
		},
	}
}

func TestBandwidthPlots(t *testing.T) {
	plots, err := Plots(bweReport())
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, p := range plots {
		files = append(files, p.File)
		if len(p.PNG) == 0 {
			t.Errorf("%s is empty", p.File)
		}
	}
	want := "bwe-estimate.png bwe-send.png bwe-receive.png bwe-queue-delay.png bwe-delay-cdf.png"
	if got := strings.Join(files, " "); got != want {
		t.Errorf("plots %q, want %q (and no generic chart of the bandwidth series)", got, want)
	}
}

func TestBandwidthTextAndHTML(t *testing.T) {
	r := bweReport()
	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Bottleneck links (RFC 8868)", "sender uplink  70.00", "video  media  sender->receiver  525", "8.5", "1.30"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "Participants") {
		t.Errorf("a bandwidth report has no participants table:\n%s", text.String())
	}
	var html bytes.Buffer
	if err := WriteHTML(&html, r, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h2>Bottleneck links", "<h2>Flows", "capacity 600 kbps", "sender-&gt;receiver"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("html lacks %q", want)
		}
	}
	if strings.Contains(html.String(), "<h2>Participants") {
		t.Error("a bandwidth report has no participants section")
	}
}

func TestBandwidthJSONAndSummary(t *testing.T) {
	dir := t.TempDir()
	r := bweReport()
	r.Bandwidth.Flows[0].ConvergenceS = nil // not measured: null
	path := filepath.Join(dir, JSONFile)
	if err := WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Bandwidth == nil || back.Bandwidth.Flows[0].ConvergenceS != nil || *back.Bandwidth.Flows[0].RampUpS != 8.5 {
		t.Errorf("round trip: %+v", back.Bandwidth)
	}
	failing := bweReport()
	failing.Scenario.Name = "rfc8867-5.5"
	failing.Checks = []analysis.Check{analysis.Evaluate("fairness_5s senders uplink", 0.26, analysis.Bound{Min: new(0.5)})}
	failing.Verdict = analysis.Fail
	s := NewSummary("rtclab test", []*Report{r, failing}, []string{"a", "b"}, 17.3)
	if s.Verdict != analysis.Fail || s.ScenarioSeconds != 20 || s.Scenarios[1].Failed != 1 {
		t.Errorf("summary %+v", s)
	}
	files, err := WriteSummary(dir, s)
	if err != nil || len(files) != 2 {
		t.Fatal(files, err)
	}
	html, _ := os.ReadFile(files[1])
	if !strings.Contains(string(html), `href="b/report.html"`) || !strings.Contains(string(html), "fairness_5s senders uplink = 0.26") {
		t.Errorf("index.html:\n%s", html)
	}
	var text bytes.Buffer
	if err := WriteSummaryText(&text, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "1 of 2 scenarios passed") || !strings.Contains(text.String(), "✗ rfc8867-5.5") {
		t.Errorf("summary text:\n%s", text.String())
	}
}

// TestKnownFailureShown checks the three kinds of verdict in every
// output: an RFC criterion, an rtclab guideline and a known failure,
// which does not fail the run but is listed with its reason and link.
func TestKnownFailureShown(t *testing.T) {
	issue := &analysis.KnownIssue{Reason: "app-limited estimate grows", Link: "https://github.com/pion/interceptor/issues/299"}
	r := bweReport()
	r.Checks = []analysis.Check{
		analysis.Evaluate("fairness_20s senders uplink", 0.8, analysis.Bound{Min: new(0.333)}).Declare(analysis.CriterionRFC, "RFC 8868 section 3 item 7", nil),
		analysis.Evaluate("queue_delay_p95_ms video", 90, analysis.Bound{Max: new(150.0)}).Declare(analysis.CriterionGuideline, "half the 300 ms queue", nil),
		analysis.Evaluate("estimate_overshoot video", 3.5, analysis.Bound{Max: new(1.5)}).Declare(analysis.CriterionGuideline, "estimate within half again of the share", issue),
	}
	r.Verdict = analysis.OverallVerdict(r.Checks)
	if r.Verdict != analysis.Pass {
		t.Fatalf("a known failure failed the run: %+v", r.Checks)
	}
	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 passed, 0 failed, 1 known failure", "RFC criterion (RFC 8868 section 3 item 7)", "rtclab guideline (half the 300 ms queue)", "~ estimate_overshoot video", "issues/299"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var html bytes.Buffer
	if err := WriteHTML(&html, r, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"KNOWN-FAILURE", `badge known`, "RFC criterion (RFC 8868 section 3 item 7)"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("html lacks %q", want)
		}
	}
	dir := t.TempDir()
	if err := WriteJSON(filepath.Join(dir, "r.json"), r); err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(filepath.Join(dir, "r.json"))
	for _, want := range []string{`"verdict": "known-failure"`, `"criterion": "rfc"`, `"link": "https://github.com/pion/interceptor/issues/299"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("json lacks %q", want)
		}
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`failures="0"`, `skipped="1"`, `<skipped message="known failure (https://github.com/pion/interceptor/issues/299)`} {
		if !strings.Contains(junit.String(), want) {
			t.Errorf("junit lacks %q:\n%s", want, junit.String())
		}
	}
	s := NewSummary("rtclab test", []*Report{r}, []string{"a"}, 1)
	if s.Verdict != analysis.Pass || len(s.Scenarios[0].KnownFailures) != 1 {
		t.Errorf("summary %+v", s)
	}
}

// A run with a reference (RFC 8867 section 5.3) shows each compared flow
// beside its twin, in the text and the HTML report; a run without one
// shows no such table.
func TestBandwidthReferenceShown(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	r := bweReport()
	plain := func() (string, string) {
		var text, html bytes.Buffer
		if err := WriteText(&text, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTML(&html, r, nil); err != nil {
			t.Fatal(err)
		}
		return text.String(), html.String()
	}
	if text, html := plain(); strings.Contains(text, "Compared with") || strings.Contains(html, "Compared with") {
		t.Error("a report without a reference shows a comparison")
	}
	v := &r.Bandwidth.Flows[0]
	v.RateVsReference, v.QueueDelayP95VsReferenceMS = f(0.875), f(-2)
	r.Bandwidth.Reference = &BandwidthReference{Scenario: "rfc8867-5.1-reference", Flows: []BandwidthFlow{{
		Name: "video", Kind: "media", Link: "sender uplink", RateKbps: 600, QueueDelayP95MS: f(20), ResidualLossFraction: f(0),
	}}}
	text, html := plain()
	for _, want := range []string{"Compared with the reference run rfc8867-5.1-reference (RFC 8867 section 5.3)", "video  525   600       0.88   18.0    20.0     -2.0"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(html, "Compared with the reference run rfc8867-5.1-reference") || !strings.Contains(html, "<td class=\"num\">0.88</td>") {
		t.Error("html lacks the comparison")
	}
}
