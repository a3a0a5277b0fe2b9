package conform

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"strconv"
)

// Report is the outcome of one `rtclab conform` run.
type Report struct {
	// Schema is "rtclab.conform/v1".
	Schema string `json:"schema"`
	// Tool is the rtclab version.
	Tool string `json:"tool"`
	// StartedAt is the start time, RFC 3339.
	StartedAt string `json:"started_at"`
	// Filter is the label filter used, empty for all checks.
	Filter string `json:"label_filter,omitempty"`
	// Results has one entry per check and target, in run order.
	Results []Result `json:"results"`
	// Summary counts results by status.
	Summary Summary `json:"summary"`
}

// Summary counts the results of a run.
type Summary struct {
	// Pass, Fail, NotSupported, Skipped and Error count results by status.
	Pass         int `json:"pass"`
	Fail         int `json:"fail"`
	NotSupported int `json:"not_supported"`
	Skipped      int `json:"skipped"`
	Error        int `json:"error"`
	// FailedMust counts failed MUSTs and errors: nonzero fails the run.
	FailedMust int `json:"failed_must"`
	// FailedShould counts failed SHOULDs (reported, not failing).
	FailedShould int `json:"failed_should"`
}

// NewReport counts results into a report.
func NewReport(tool, started, filter string, results []Result) *Report {
	r := &Report{Schema: "rtclab.conform/v1", Tool: tool, StartedAt: started, Filter: filter, Results: results}
	for _, x := range results {
		switch x.Status {
		case Pass:
			r.Summary.Pass++
		case Fail:
			r.Summary.Fail++
			if x.Level == Should {
				r.Summary.FailedShould++
			}
		case NotSupported:
			r.Summary.NotSupported++
		case Skipped:
			r.Summary.Skipped++
		case Error:
			r.Summary.Error++
		}
		if x.Failed() {
			r.Summary.FailedMust++
		}
	}
	return r
}

// Passed reports whether every MUST held (and nothing broke).
func (r *Report) Passed() bool { return r.Summary.FailedMust == 0 }

// Line is one result as the runner prints it.
func Line(x Result) string {
	mark := map[Status]string{Pass: "ok  ", Fail: "FAIL", NotSupported: "n/s ", Skipped: "skip", Error: "ERR "}[x.Status]
	if x.Status == Fail && x.Level == Should {
		mark = "warn"
	}
	s := fmt.Sprintf("%s %-34s %-6s %-28s %s", mark, x.Check, x.Level, x.Section, x.Summary)
	if x.Detail != "" {
		s += ": " + x.Detail
	}
	return s
}

// WriteSummary writes the closing lines of a text run.
func WriteSummary(w io.Writer, r *Report) error {
	s := r.Summary
	verdict := "PASS: every MUST holds"
	if !r.Passed() {
		verdict = fmt.Sprintf("FAIL: %d MUST(s) failed or could not be checked", s.FailedMust)
	}
	_, err := fmt.Fprintf(w, "\n%d checks: %d pass, %d fail (%d SHOULD), %d not supported, %d skipped, %d errors\n%s\n",
		len(r.Results), s.Pass, s.Fail, s.FailedShould, s.NotSupported, s.Skipped, s.Error, verdict)
	return err
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write conform json: %w", err)
	}
	return nil
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string     `xml:"name,attr"`
	ClassName string     `xml:"classname,attr"`
	Time      string     `xml:"time,attr"`
	Failure   *junitText `xml:"failure,omitempty"`
	Error     *junitText `xml:"error,omitempty"`
	Skipped   *junitText `xml:"skipped,omitempty"`
}

type junitText struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes r as JUnit XML: one test case per check and URL; a
// failed MUST is a <failure>, a failed SHOULD, not-supported and skipped
// results are <skipped> with the reason, so CI fails on MUSTs only.
func WriteJUnit(w io.Writer, r *Report) error {
	s := junitSuite{Name: "rtclab conform"}
	for _, x := range r.Results {
		c := junitCase{Name: x.Check + " (" + x.Section + ")", ClassName: x.URL, Time: strconv.FormatFloat(x.Seconds, 'f', 3, 64)}
		msg := &junitText{Message: x.Summary + ": " + x.Detail}
		switch {
		case x.Status == Error:
			c.Error = msg
			s.Errors++
		case x.Failed():
			c.Failure = msg
			s.Failures++
		case x.Status != Pass:
			msg.Message = string(x.Status) + ": " + msg.Message
			c.Skipped = msg
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write conform junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write conform junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

var htmlPage = template.Must(template.New("conform").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>rtclab conform</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.pass{background:#e6f4ea}.fail{background:#fce8e6}.error{background:#fce8e6}.warn{background:#fef7e0}.not-supported,.skipped{color:#666}</style></head>
<body><h1>rtclab conform: {{if .Passed}}PASS, every MUST holds{{else}}FAIL, {{.Summary.FailedMust}} MUST(s) failed{{end}}</h1>
<p>{{len .Results}} checks: {{.Summary.Pass}} pass, {{.Summary.Fail}} fail ({{.Summary.FailedShould}} SHOULD), {{.Summary.NotSupported}} not supported, {{.Summary.Skipped}} skipped, {{.Summary.Error}} errors. Started {{.StartedAt}}, {{.Tool}}.</p>
<table><tr><th>URL</th><th>check</th><th>level</th><th>section</th><th>status</th><th>what the server did</th></tr>
{{range .Results}}<tr class="{{.Status}}{{if and (eq .Status "fail") (eq .Level "should")}} warn{{end}}"><td>{{.URL}}</td><td>{{.Check}}<br><small>{{.Summary}}</small></td><td>{{.Level}}</td><td>{{.Section}}</td><td>{{.Status}}</td><td>{{.Detail}}</td></tr>
{{end}}</table></body></html>
`))

// WriteHTML writes r as a self-contained HTML page, verdict first.
func WriteHTML(w io.Writer, r *Report) error {
	if err := htmlPage.Execute(w, r); err != nil {
		return fmt.Errorf("write conform html: %w", err)
	}
	return nil
}
