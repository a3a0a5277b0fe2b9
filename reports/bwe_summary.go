package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strings"

	"github.com/rtclab/rtclab/analysis"
)

// SummarySchema is the value of Summary.Schema.
const SummarySchema = "rtclab.summary/v1"

// File names WriteSummary uses in the run directory.
const (
	SummaryJSONFile = "summary.json"
	SummaryHTMLFile = "index.html"
)

// Summary is the outcome of a run of several scenarios (a directory such
// as scenarios/rfc8867/): one line per scenario, each pointing to its own
// report.
type Summary struct {
	// Schema is always "rtclab.summary/v1".
	Schema string `json:"schema"`
	// Tool names the program and its version.
	Tool string `json:"tool"`
	// WallSeconds is the wall-clock time of the whole run.
	WallSeconds float64 `json:"wall_seconds"`
	// ScenarioSeconds is the scenario (media) time that ran, added: the
	// full duration of a complete run, the time reached of an interrupted
	// one, nothing for one not run.
	ScenarioSeconds float64 `json:"scenario_seconds"`
	// Verdict is "pass" when every scenario passed, else "fail".
	Verdict string `json:"verdict"`
	// Scenarios are the runs in the order they ran.
	Scenarios []SummaryEntry `json:"scenarios"`
}

// SummaryEntry is one scenario of a Summary.
type SummaryEntry struct {
	// Name is the scenario's name; Dir its report directory, relative to
	// the summary.
	Name string `json:"name"`
	Dir  string `json:"dir"`
	// Description is the scenario's description.
	Description string `json:"description,omitempty"`
	// Status is what became of the scenario: "passed", "failed",
	// "interrupted" (cut short; ReachedS says how far it got) or "not run"
	// (the set was stopped before it started; no report, Dir empty).
	Status string `json:"status"`
	// Verdict is the scenario's verdict; Partial marks a run cut short.
	Verdict string `json:"verdict"`
	Partial bool   `json:"partial"`
	// ReachedS is the scenario time an interrupted run reached: its last
	// sample. Absent for a run that was not cut short.
	ReachedS *float64 `json:"reached_s,omitempty"`
	// DurationS and WallSeconds are its scenario and wall time.
	DurationS   float64 `json:"duration_s"`
	WallSeconds float64 `json:"wall_seconds"`
	// Checks and Failed count its checks and the failed ones.
	Checks int `json:"checks"`
	Failed int `json:"failed"`
	// Failures names each failed check with its value and threshold.
	Failures []string `json:"failures"`
	// KnownFailures names each check that failed as its scenario
	// declares (analysis.KnownFailure), with the reason and the link.
	KnownFailures []string `json:"known_failures"`
	// Highlights are its headline numbers in words, e.g. "utilization
	// 68%" (bandwidth test cases: per link and per media flow).
	Highlights []string `json:"highlights"`
}

// NewSummary builds the summary of reports written to dirs (relative
// paths, one per report).
func NewSummary(tool string, reps []*Report, dirs []string, wallSeconds float64) *Summary {
	s := &Summary{Schema: SummarySchema, Tool: tool, WallSeconds: wallSeconds, Verdict: analysis.Pass, Scenarios: []SummaryEntry{}}
	for i, r := range reps {
		e := SummaryEntry{
			Name: r.Scenario.Name, Dir: filepath.ToSlash(dirs[i]), Description: r.Scenario.Description,
			Verdict: r.Verdict, Partial: r.Partial, DurationS: r.Scenario.DurationS, WallSeconds: r.WallSeconds,
			Checks: len(r.Checks), Failures: []string{}, KnownFailures: []string{}, Highlights: highlights(r),
		}
		for _, c := range r.Checks {
			switch {
			case c.Failed():
				e.Failed++
				e.Failures = append(e.Failures, fmt.Sprintf("%s = %s (allowed %s)", c.Name, checkValue(c.Value), c.Threshold))
			case c.Verdict == analysis.KnownFailure:
				e.KnownFailures = append(e.KnownFailures, fmt.Sprintf("%s = %s (allowed %s): %s, %s", c.Name, checkValue(c.Value), c.Threshold, c.Known.Reason, c.Known.Link))
			}
		}
		ran := r.Scenario.DurationS
		switch {
		case r.Partial:
			e.Status = StatusInterrupted
			reached := reachedS(r)
			e.ReachedS, ran = &reached, reached
		case r.Verdict == analysis.Pass:
			e.Status = StatusPassed
		default:
			e.Status = StatusFailed
		}
		if r.Verdict != analysis.Pass || r.Partial {
			s.Verdict = analysis.Fail
		}
		s.ScenarioSeconds += ran
		s.Scenarios = append(s.Scenarios, e)
	}
	return s
}

// Values of SummaryEntry.Status.
const (
	StatusPassed      = "passed"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
	StatusNotRun      = "not run"
)

// AddNotRun lists a scenario of the set that never started (the set was
// interrupted before it): it has no report, and the set cannot pass.
func (s *Summary) AddNotRun(name, description string) {
	s.Scenarios = append(s.Scenarios, SummaryEntry{
		Name: name, Description: description, Status: StatusNotRun, Verdict: StatusNotRun,
		Failures: []string{}, KnownFailures: []string{}, Highlights: []string{},
	})
	s.Verdict = analysis.Fail
}

// reachedS is how far an interrupted run got in scenario time: the time
// of its last sample (series are sampled every 100 ms while it runs).
func reachedS(r *Report) float64 {
	reached := 0.0
	for _, se := range r.Series {
		if n := len(se.Points); n > 0 {
			reached = max(reached, se.Points[n-1].T)
		}
	}
	return reached
}

func highlights(r *Report) []string {
	out := []string{}
	bw := r.Bandwidth
	if bw == nil {
		return callHighlights(r)
	}
	for _, l := range bw.Links {
		s := l.Name + ": utilization " + optionalPercent(l.Utilization) + "%"
		if l.Utilization == nil {
			s = l.Name + ": utilization — (beside TCP)" // RFC 8868 section 3 item 10; not "—%"
		}
		if l.Fairness5s != nil {
			s += ", fairness (5 s) " + optional(l.Fairness5s, 2)
		}
		out = append(out, s)
	}
	for _, f := range bw.Flows {
		if f.Kind != "media" {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s kbps, ramp-up %s s, queue p95 %s ms, estimate/share %s",
			f.Name, fixed(f.RateKbps, 0), lowerBound(f.RampUpS, f.RampUpConverged), optional(f.QueueDelayP95MS, 0), optional(f.EstimateOvershoot, 2)))
	}
	return out
}

// WriteSummary writes summary.json and index.html into dir and returns
// their paths.
func WriteSummary(dir string, s *Summary) ([]string, error) {
	if s == nil {
		return nil, errors.New("write summary: nil summary")
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode summary: %w", err)
	}
	jsonPath := filepath.Join(dir, SummaryJSONFile)
	if err := WriteFileAtomic(jsonPath, append(data, '\n')); err != nil {
		return nil, fmt.Errorf("write summary %s: %w", jsonPath, err)
	}
	var b bytes.Buffer
	if err := WriteSummaryHTML(&b, s); err != nil {
		return nil, err
	}
	htmlPath := filepath.Join(dir, SummaryHTMLFile)
	if err := WriteFileAtomic(htmlPath, b.Bytes()); err != nil {
		return nil, fmt.Errorf("write summary %s: %w", htmlPath, err)
	}
	return []string{jsonPath, htmlPath}, nil
}

// WriteSummaryText writes the summary table a terminal shows after a run
// of several scenarios.
func WriteSummaryText(w io.Writer, s *Summary) error {
	var b bytes.Buffer
	count := map[string]int{}
	for _, e := range s.Scenarios {
		count[e.Status]++
	}
	var stopped string
	if n := count[StatusInterrupted]; n > 0 {
		stopped += fmt.Sprintf(", %d interrupted", n)
	}
	if n := count[StatusNotRun]; n > 0 {
		stopped += fmt.Sprintf(", %d not run", n)
	}
	fmt.Fprintf(&b, "\nSummary: %d of %d scenarios passed%s (%.0f s of scenario time in %.1f s wall)\n",
		count[StatusPassed], len(s.Scenarios), stopped, s.ScenarioSeconds, s.WallSeconds)
	var t table
	t.row("SCENARIO", "VERDICT", "CHECKS", "FAILED", "SCENARIO S", "WALL S")
	for _, e := range s.Scenarios {
		switch {
		case e.Status == StatusNotRun:
			t.row(e.Name, "NOT RUN", "-", "-", "-", "-")
		case e.Partial:
			t.row(e.Name, "PARTIAL", fmt.Sprint(e.Checks), fmt.Sprint(e.Failed), reachedOf(e), fixed(e.WallSeconds, 2))
		default:
			t.row(e.Name, strings.ToUpper(e.Verdict), fmt.Sprint(e.Checks), fmt.Sprint(e.Failed), fixed(e.DurationS, 0), fixed(e.WallSeconds, 2))
		}
	}
	t.writeTo(&b)
	for _, e := range s.Scenarios {
		for _, f := range e.Failures {
			if e.Partial {
				// Measured on a truncated run: not a finding like the others.
				fmt.Fprintf(&b, "  ✗ %s (interrupted at %s): %s\n", e.Name, reachedOf(e), f)
				continue
			}
			fmt.Fprintf(&b, "  ✗ %s: %s\n", e.Name, f)
		}
		for _, f := range e.KnownFailures {
			fmt.Fprintf(&b, "  ~ %s: known failure %s\n", e.Name, f)
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// reachedOf renders how far an interrupted scenario got, e.g. "53.0 of 100".
func reachedOf(e SummaryEntry) string {
	if e.ReachedS == nil {
		return fixed(e.DurationS, 0)
	}
	return fmt.Sprintf("%.1f of %.0f", *e.ReachedS, e.DurationS)
}

// summaryBody is the index's content under the house-style verdict band.
const summaryBody = `<section>
<h2>Scenarios</h2>
<div class="scroll"><table>
<thead><tr><th>Scenario</th><th>Verdict</th><th class="num">Checks</th><th class="num">Failed</th><th class="num">Scenario<span class="unit">s</span></th><th class="num">Wall<span class="unit">s</span></th><th>Headline numbers and failed checks</th></tr></thead>
<tbody>
{{- range .Scenarios}}
{{- if eq .Status "not run"}}
<tr class="failed"><td>{{.Name}}<span class="desc">{{.Description}}</span></td><td><span class="badge fail">NOT RUN</span></td><td class="num">—</td><td class="num">—</td><td class="num">—</td><td class="num">—</td><td class="empty">the set was stopped before this scenario started</td></tr>
{{- else}}
<tr{{if ne .Verdict "pass"}} class="failed"{{end}}><td><a href="{{.Dir}}/report.html">{{.Name}}</a><span class="desc">{{.Description}}</span></td>
<td><span class="badge {{.Verdict}}">{{if .Partial}}PARTIAL{{else if eq .Verdict "pass"}}PASS{{else}}FAIL{{end}}</span></td>
<td class="num">{{.Checks}}</td><td class="num">{{.Failed}}</td><td class="num">{{with .ReachedS}}{{printf "%.1f" .}} of {{end}}{{printf "%.0f" .DurationS}}</td><td class="num">{{printf "%.2f" .WallSeconds}}</td>
<td class="headlines">{{with .Highlights}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}{{with .Failures}}<ul>{{range .}}<li class="down">✗ {{.}}</li>{{end}}</ul>{{end}}{{with .KnownFailures}}<ul>{{range .}}<li>~ known failure: {{.}}</li>{{end}}</ul>{{end}}{{with .ReachedS}}<p class="note">interrupted at {{printf "%.1f" .}} s: its numbers cover only the part that ran</p>{{end}}</td></tr>
{{- end}}
{{- end}}
</tbody>
</table></div>
</section>
`

// WriteSummaryHTML writes the multi-run index (index.html): the verdict
// of the set first, then a row per scenario with its headline numbers and
// failed checks, linking to its report.
func WriteSummaryHTML(w io.Writer, s *Summary) error {
	t, err := template.New("summary").Parse(summaryBody)
	if err != nil {
		return fmt.Errorf("parse summary template: %w", err)
	}
	var body bytes.Buffer
	if err := t.Execute(&body, s); err != nil {
		return fmt.Errorf("write summary html: %w", err)
	}
	word, class := "PASS", "pass"
	if s.Verdict != "pass" {
		word, class = "FAIL", "fail"
	}
	passed := 0
	for _, e := range s.Scenarios {
		if e.Status == StatusPassed {
			passed++
		}
	}
	return WritePage(w, Page{
		Title: word + " · rtclab summary", Word: word, Class: class,
		Heading: fmt.Sprintf("%d of %d scenarios passed", passed, len(s.Scenarios)),
		Summary: fmt.Sprintf("%s s of scenario time in %s s wall", fixed(s.ScenarioSeconds, 0), fixed(s.WallSeconds, 1)),
		Body:    template.HTML(body.String()), //nolint:gosec // executed by html/template above
		Footer:  "Generated by " + s.Tool + " · schema " + s.Schema,
	})
}
