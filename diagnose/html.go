package diagnose

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/reports"
)

// WriteHTML writes a self-contained HTML report in the house style
// (reports.WritePage): the verdict first, the findings, the graded
// measurements with units, charts of RTT and jitter and of bandwidth over
// time in the reports' plot style, the thresholds, and the text report
// folded away for copying into a ticket.
func WriteHTML(w io.Writer, res Result) error {
	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		return err
	}
	rtt, err := rttPlot(res)
	if err != nil {
		return err
	}
	bw, err := bandwidthPlot(res)
	if err != nil {
		return err
	}
	var metrics []htmlMetric
	for _, m := range res.Metrics {
		metrics = append(metrics, htmlMetric{Metric: m, Value: formatValue(m.Value, m.Unit)})
	}
	var body bytes.Buffer
	if err := htmlTmpl.Execute(&body, struct {
		R               Result
		Metrics         []htmlMetric
		Text            string
		RTTPlot, BWPlot template.URL
		Thresholds      []Threshold
	}{res, metrics, text.String(), rtt, bw, Thresholds}); err != nil {
		return fmt.Errorf("diagnose html: %w", err)
	}
	class := map[Level]string{Good: "pass", Warn: "warn", Bad: "fail"}[res.Verdict.Level]
	if class == "" {
		class = "unknown"
	}
	return reports.WritePage(w, reports.Page{
		Title:   strings.ToUpper(string(res.Verdict.Level)) + " · rtclab diagnose",
		Word:    strings.ToUpper(string(res.Verdict.Level)),
		Class:   class,
		Heading: "Network check: " + res.Target,
		Summary: res.Verdict.Summary,
		Body:    template.HTML(body.String()), //nolint:gosec // executed by html/template above
		Footer: fmt.Sprintf("%s · %s · took %s · schema %s · rtclab %s", res.Target,
			res.Started.Format("2006-01-02 15:04:05 UTC"), formatValue(res.DurationMs, "ms"), res.Schema, res.Version),
	})
}

// htmlMetric is a measurement with its value formatted.
type htmlMetric struct {
	Metric
	Value string
}

// formatValue prints a measurement with its unit at a precision that
// suits it: "103.6 Mbit/s" rather than "103581.00 kbps", "11.3 s" rather
// than "11281.0 ms".
func formatValue(v float64, unit string) string {
	switch unit {
	case "kbps":
		if v >= 10000 {
			return strconv.FormatFloat(v/1000, 'f', 1, 64) + " Mbit/s"
		}
		return strconv.FormatFloat(v, 'f', 0, 64) + " kbit/s"
	case "ms":
		switch {
		case v >= 10000:
			return strconv.FormatFloat(v/1000, 'f', 1, 64) + " s"
		case v >= 100:
			return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
		}
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	case "%":
		return strconv.FormatFloat(v, 'f', 2, 64) + " %"
	case "":
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + " " + unit
}

var htmlTmpl = template.Must(template.New("diagnose").Parse(`<section>
<h2>Findings</h2>
<ul class="findings">
{{- range .R.Findings}}
<li class="{{.Level}}"><span class="badge {{.Level}}">{{.Level}}</span> {{.Text}}{{if .Fix}}<br><b>To fix:</b> {{.Fix}}{{end}}</li>
{{- end}}
</ul>
</section>
{{- with .R.Local.Exposure}}
<section>
<h2>What the other party learns of this machine's addresses</h2>
<table>
<thead><tr><th>Client</th><th>Addresses the peer learns</th></tr></thead>
<tbody>
{{- range .}}
<tr><td>{{.Words}}</td><td>{{range $i, $a := .Addresses}}{{if $i}}<br>{{end}}<span class="mono">{{$a}}</span>{{end}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}
{{- with .R.Encryption}}
<section>
<h2>Media through each server</h2>
<p>End-to-end encrypted: the server relayed DTLS-SRTP to a peer whose certificate was not its own. Terminated: the server was the DTLS peer and holds the SRTP keys, as an SFU does.</p>
<div class="scroll"><table>
<thead><tr><th>Path</th><th>Server</th><th>Role</th><th>Media</th><th>Why</th></tr></thead>
<tbody>
{{- range .}}
<tr><td>{{.Path}}</td><td class="mono">{{.Server}}{{with .Address}}<br>{{.}}{{end}}</td><td>{{.Role}}</td><td>{{.Media}}</td><td>{{.Why}}</td></tr>
{{- end}}
</tbody>
</table></div>
</section>
{{- end}}
{{- if .Metrics}}
<section>
<h2>Measurements</h2>
<div class="scroll"><table>
<thead><tr><th>Metric</th><th>Path</th><th class="num">Value</th><th>Band</th><th>Rule</th></tr></thead>
<tbody>
{{- range .Metrics}}
<tr{{if eq .Level "bad"}} class="failed"{{else if eq .Level "warn"}} class="warn"{{end}}><td>{{.Name}}</td><td>{{.Path}}</td><td class="num">{{.Value}}</td><td><span class="badge {{.Level}}">{{.Level}}</span></td><td>{{.Rule}}</td></tr>
{{- end}}
</tbody>
</table></div>
</section>
{{- end}}
{{- if or .RTTPlot .BWPlot}}
<section>
<h2>Plots</h2>
{{- with .RTTPlot}}<figure><img src="{{.}}" alt="RTT and jitter over time"><figcaption>rtt-jitter</figcaption></figure>{{end}}
{{- with .BWPlot}}<figure><img src="{{.}}" alt="bandwidth over time"><figcaption>bandwidth</figcaption></figure>{{end}}
</section>
{{- end}}
<section>
<h2>Thresholds</h2>
<table>
<thead><tr><th>Metric</th><th>Rule</th><th>Source</th></tr></thead>
<tbody>
{{- range .Thresholds}}
<tr><td>{{.Metric}}</td><td>{{.Describe}}</td><td>{{.Source}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
<section>
<h2>Text report</h2>
<details>
<summary>The same diagnosis as the terminal prints it, for a ticket</summary>
<pre class="mono">{{.Text}}</pre>
</details>
</section>
`))

// rttPlot draws each measured path's RTT and its running RFC 3550 jitter.
func rttPlot(res Result) (template.URL, error) {
	var lines []reports.Line
	for _, q := range res.Quality {
		if len(q.Ping.Samples) == 0 {
			continue
		}
		rtt := reports.Line{Name: "RTT " + string(q.Path)}
		jit := reports.Line{Name: "jitter " + string(q.Path)}
		j, prev := 0.0, math.NaN()
		for _, s := range q.Ping.Samples {
			if !math.IsNaN(prev) {
				j += (math.Abs(s.RTTMs-prev) - j) / 16 // RFC 3550 6.4.1
			}
			prev = s.RTTMs
			rtt.X, rtt.Y = append(rtt.X, s.AtMs/1000), append(rtt.Y, s.RTTMs)
			jit.X, jit.Y = append(jit.X, s.AtMs/1000), append(jit.Y, j)
		}
		lines = append(lines, rtt, jit)
	}
	if len(lines) == 0 {
		return "", nil
	}
	return png(reports.LineChart("RTT and jitter per path", "time (s)", "ms", nil, lines))
}

// bandwidthPlot draws upload and download throughput over time.
func bandwidthPlot(res Result) (template.URL, error) {
	bw := res.Bandwidth
	if bw == nil || (len(bw.Up.Series) == 0 && len(bw.Down.Series) == 0) {
		return "", nil
	}
	var lines []reports.Line
	for _, s := range []struct {
		name string
		in   []pathprobe.Rate
	}{{"up", bw.Up.Series}, {"down", bw.Down.Series}} {
		if len(s.in) == 0 {
			continue
		}
		l := reports.Line{Name: s.name + " (" + string(bw.Path) + ")"}
		for _, r := range s.in {
			l.X, l.Y = append(l.X, r.AtMs/1000), append(l.Y, r.Mbps)
		}
		lines = append(lines, l)
	}
	return png(reports.LineChart("Throughput", "time (s)", "Mbit/s", nil, lines))
}

// png inlines a chart as a data: URL.
func png(b []byte, err error) (template.URL, error) {
	if err != nil {
		return "", fmt.Errorf("diagnose plot: %w", err)
	}
	// Made here, from numbers: safe as a URL.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b)), nil //nolint:gosec
}
