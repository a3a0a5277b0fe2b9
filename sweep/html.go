package sweep

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes a self-contained page in the house style of the run
// report: the verdict, the charts, and the table of every cell with its
// values and its checks (failed ones named).
func WriteHTML(w io.Writer, r *Result, charts []Chart) error {
	v := htmlView{R: r, Headline: Headline(r)}
	for _, c := range charts {
		v.Charts = append(v.Charts, htmlChart{Title: c.Title, File: c.File,
			Src: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(c.PNG))})
	}
	for _, c := range r.Cells {
		row := htmlRow{C: c}
		for _, k := range r.Series {
			row.Values = append(row.Values, formatValue(c.Value(k)))
		}
		passed, failed := checkCounts(c.Checks)
		row.Checks = fmt.Sprintf("%d passed, %d failed", passed, failed)
		for _, ch := range c.Checks {
			if ch.Failed() {
				row.Failed = append(row.Failed, ch.Name+": "+ch.Reason)
			}
		}
		v.Rows = append(v.Rows, row)
	}
	return pageTmpl.Execute(w, v)
}

// Headline sums a sweep up in one line.
func Headline(r *Result) string {
	s := fmt.Sprintf("%s: %d of %d cells passed", r.Scenario, r.Passed, len(r.Cells))
	if r.Failed > 0 {
		s += fmt.Sprintf(", %d failed", r.Failed)
	}
	if r.Errors > 0 {
		s += fmt.Sprintf(", %d could not run", r.Errors)
	}
	if r.NotRun > 0 {
		s += fmt.Sprintf(", %d not run", r.NotRun)
	}
	if r.Shard != nil {
		s += fmt.Sprintf(" (shard %s of %d cells)", r.Shard, r.Total)
	}
	return s
}

type htmlView struct {
	R        *Result
	Headline string
	Charts   []htmlChart
	Rows     []htmlRow
}

type htmlChart struct {
	Title, File string
	Src         template.URL
}

type htmlRow struct {
	C      Cell
	Values []string
	Checks string
	Failed []string
}

var pageTmpl = template.Must(template.New("sweep").Funcs(template.FuncMap{
	"join": strings.Join,
	"verdictWord": func(v string) string {
		if v == "pass" {
			return "PASS"
		}
		return "FAIL"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.R.Verdict}} · sweep of {{.R.Scenario}} · rtclab</title>
<style>
:root { --pass: #1a7f37; --fail: #cf222e; --muted: #57606a; --line: #d0d7de; --head: #f6f8fa; --failed-row: #ffebe9; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: #1f2328; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 20px 40px; }
.verdict { display: flex; align-items: center; gap: 24px; padding: 18px 24px; border-radius: 8px; color: #fff; }
.verdict.pass { background: var(--pass); }
.verdict.fail { background: var(--fail); }
.verdict .word { font-size: 52px; font-weight: 800; letter-spacing: .04em; line-height: 1; }
.verdict h1 { margin: 0; font-size: 24px; overflow-wrap: anywhere; }
.verdict p { margin: 4px 0 0; font-size: 15px; opacity: .92; }
.partial { margin-top: 12px; padding: 12px 16px; border-radius: 6px; background: #fff8c5; border: 1px solid #d4a72c; border-left-width: 6px; color: #3b2e00; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { padding: 5px 7px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
tr.fail td, tr.error td { background: var(--failed-row); }
tr.not-run td { color: var(--muted); font-style: italic; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 700; color: #fff; background: #6e7781; }
.badge.pass { background: var(--pass); }
.badge.fail, .badge.error { background: var(--fail); }
.why { font-size: 12px; color: var(--muted); }
figure { margin: 16px 0 24px; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { margin-top: 4px; font-size: 12px; color: var(--muted); text-align: right; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
footer { margin-top: 40px; padding-top: 8px; border-top: 1px solid var(--line); font-size: 12px; color: var(--muted); }
</style>
</head>
<body>
<main>
<header class="verdict {{.R.Verdict}}">
<div class="word">{{verdictWord .R.Verdict}}</div>
<div><h1>{{.Headline}}</h1>
<p>{{range $i, $a := .R.Axes}}{{if $i}} × {{end}}<span class="mono">{{$a.Path}}</span> over {{len $a.Values}} values{{end}}; every cell a full run in virtual time</p></div>
</header>
{{if .R.Partial}}<div class="partial"><b>Partial:</b> {{.R.NotRun}} cell(s) were not run (the sweep was stopped); they are marked <i>not run</i> below.</div>{{end}}
{{if .Charts}}<h2>Charts</h2>
{{range .Charts}}<figure><img src="{{.Src}}" alt="{{.Title}}"><figcaption>{{.File}}</figcaption></figure>
{{end}}{{end}}
<h2>Cells</h2>
<div class="scroll"><table>
<tr><th>cell</th>{{range .R.Axes}}<th class="mono">{{.Path}}</th>{{end}}<th>status</th>{{range .R.Series}}<th>{{.Metric}}<br><span class="why">{{.Subject}}</span></th>{{end}}<th>checks</th></tr>
{{range .Rows}}<tr class="{{.C.Status}}"><td class="num">{{.C.Index}}</td>{{range .C.Values}}<td class="num">{{.}}</td>{{end}}<td><span class="badge {{.C.Status}}">{{.C.Status}}</span></td>{{range .Values}}<td class="num">{{.}}</td>{{end}}<td>{{.Checks}}{{range .Failed}}<div class="why">{{.}}</div>{{end}}{{with .C.Error}}<div class="why">{{.}}</div>{{end}}</td></tr>
{{end}}</table></div>
<footer>{{.R.Tool}} · scenario {{.R.File}} · {{.R.Total}} cells · clock {{.R.Clock}} · started {{.R.StartedAt}} · {{.R.WallSeconds}} s wall</footer>
</main>
</body>
</html>
`))
