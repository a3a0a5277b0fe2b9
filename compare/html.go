package compare

import (
	"bytes"
	"fmt"
	"html/template"
	"io"

	"github.com/rtclab/rtclab/reports"
)

// WriteHTML writes the comparison as a house-style page
// (reports.WritePage): the headline first, then per scenario its noise
// model and a table of every metric that moved beyond it.
func WriteHTML(w io.Writer, r *Result) error {
	type row struct {
		Change
		Old, New, Delta, Noise, Class string
	}
	type scenario struct {
		Scenario
		Rows []row
	}
	var ss []scenario
	for _, s := range r.Scenarios {
		sc := scenario{Scenario: s}
		for _, c := range s.Changes {
			class := ""
			switch c.Verdict {
			case VerdictWorse, VerdictMissing:
				class = "failed"
			case VerdictBetter:
				class = "better"
			}
			sc.Rows = append(sc.Rows, row{Change: c, Old: Format(c.Old, c.Unit), New: Format(c.New, c.Unit),
				Delta: delta(c), Noise: noise(c, s.Noise), Class: class})
		}
		ss = append(ss, sc)
	}
	var body bytes.Buffer
	if err := htmlTmpl.Execute(&body, struct {
		R         *Result
		Scenarios []scenario
	}{r, ss}); err != nil {
		return fmt.Errorf("compare html: %w", err)
	}
	class := map[string]string{"WORSE": "fail", "BETTER": "pass", "SAME": "pass"}[r.Headline()]
	if class == "" {
		class = "unknown"
	}
	return reports.WritePage(w, reports.Page{
		Title:   r.Headline() + " · rtclab compare",
		Word:    r.Headline(),
		Class:   class,
		Heading: r.Old + " → " + r.New,
		Summary: fmt.Sprintf("%d worse, %d better beyond noise", r.Worse(), r.Better()),
		Body:    template.HTML(body.String()), //nolint:gosec // executed by html/template above
		Footer:  "rtclab compare: exact under the same seed in virtual time; otherwise 4 standard errors (fractions, counts) or 10 % with a floor (times, rates, scores)",
	})
}

var htmlTmpl = template.Must(template.New("compare").Parse(`
{{- with .R.OnlyOld}}<div class="partial" role="alert"><strong>Missing from the new run:</strong> {{range .}}{{.}} {{end}}</div>{{end}}
{{- with .R.OnlyNew}}<p class="note">New in the new run: {{range .}}{{.}} {{end}}</p>{{end}}
{{- range .Scenarios}}
<section>
<h2>{{.Name}} <span class="count">{{len .Changes}} of {{.Compared}} metrics moved beyond noise · verdict {{.OldVerdict}} → {{.NewVerdict}}</span></h2>
<p class="note">Noise: <b>{{.Noise}}</b> ({{.Why}}).</p>
{{- if .Rows}}
<div class="scroll"><table>
<thead><tr><th>Subject</th><th>Metric</th><th class="num">Old</th><th class="num">New</th><th class="num">Change</th><th class="num">Noise</th><th>Verdict</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr{{with .Class}} class="{{.}}"{{end}}><td>{{.Subject}}</td><td class="mono">{{.Metric}}</td><td class="num">{{.Old}}</td><td class="num">{{.New}}</td><td class="num">{{.Delta}}</td><td class="num">{{.Noise}}</td><td><span class="badge {{if eq .Class "failed"}}fail{{else if eq .Class "better"}}pass{{end}}">{{.Verdict}}</span></td></tr>
{{- end}}
</tbody>
</table></div>
{{- else}}
<p class="empty">Nothing moved beyond noise.</p>
{{- end}}
</section>
{{- end}}
`))
