package matrix

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/rtclab/rtclab/reports"
)

// Rule is one row of the expectations table, as documentation.
type Rule struct {
	// Name identifies the rule in results.
	Name string
	// ICE lists the configurations it applies to; empty means all.
	ICE []ICEConfig
	// Path is the outcome; "no-direct" means failed without TURN and
	// relay with it.
	Path Path
	// Why explains it.
	Why string
}

// Rules returns the expectations table, in the order it is applied.
func Rules() []Rule {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = Rule{Name: r.name, ICE: r.ice, Path: r.path, Why: r.why}
	}
	return out
}

// WriteHTML writes a self-contained page: the verdict, the heatmap, one
// table per ICE configuration, every cell with its explanation, the
// expectations table and the known pion deviations.
func WriteHTML(w io.Writer, r *Result, heatmap []byte) error {
	v := htmlView{R: r, Headline: r.Headline(), Rules: Rules(), Deviations: Deviations}
	if len(heatmap) > 0 {
		v.Heatmap = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(heatmap))
	}
	cells := map[string]CellResult{}
	for _, c := range r.Cells {
		cells[c.ICE+"|"+c.Row+"|"+c.Col] = c
	}
	for _, ice := range r.ICE {
		p := htmlPanel{Title: ICEConfig(ice).Describe(), Cols: r.NATs}
		for _, row := range r.NATs {
			hr := htmlRow{Name: row}
			for _, col := range r.NATs {
				c, ok := cells[ice+"|"+row+"|"+col]
				if !ok {
					hr.Cells = append(hr.Cells, htmlCell{Label: "not run", Colour: "#fff"})
					continue
				}
				label, sub := cellText(c, r.CellSeconds)
				col := pathColours[c.Path]
				hr.Cells = append(hr.Cells, htmlCell{
					Label: label, Sub: sub, Title: c.Explanation,
					Colour: fmt.Sprintf("#%02x%02x%02x", col.R, col.G, col.B),
					Bad:    c.Status == StatusUnexpected || c.Status == StatusError,
				})
			}
			p.Rows = append(p.Rows, hr)
		}
		v.Panels = append(v.Panels, p)
	}
	for _, c := range r.Cells {
		v.Cells = append(v.Cells, htmlDetail{C: c, TTC: ttc(c), Offerer: endText(c.Offerer), Answerer: endText(c.Answerer)})
	}
	return pageTmpl.Execute(w, v)
}

type htmlView struct {
	R          *Result
	Headline   string
	Heatmap    template.URL
	Panels     []htmlPanel
	Cells      []htmlDetail
	Rules      []Rule
	Deviations []Deviation
}

type htmlPanel struct {
	Title string
	Cols  []string
	Rows  []htmlRow
}

type htmlRow struct {
	Name  string
	Cells []htmlCell
}

type htmlCell struct {
	Label, Sub, Title, Colour string
	Bad                       bool
}

type htmlDetail struct {
	C                 CellResult
	TTC               string
	Offerer, Answerer string
}

func ttc(c CellResult) string {
	if c.TimeToConnectMS == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f", *c.TimeToConnectMS)
}

// endText is one end: its pair, candidates gathered and checks sent.
func endText(e End) string {
	pair := "no pair"
	if p := e.SelectedPair; p != nil {
		pair = p.Local + " → " + p.Remote
		if p.RemoteSignalled != "" {
			pair += " (signalled " + p.RemoteSignalled + ")"
		}
		if p.RelayProtocol != "" {
			pair += " [relay/" + p.RelayProtocol + "]"
		}
	}
	return fmt.Sprintf("%s; gathered %s; %d checks", pair, counts(e.Candidates), e.ChecksSent)
}

func counts(c reports.CandidateCounts) string {
	var parts []string
	for _, x := range []struct {
		n    int
		name string
	}{{c.Host, "host"}, {c.Srflx, "srflx"}, {c.Prflx, "prflx"}, {c.Relay, "relay"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.name))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func iceList(ics []ICEConfig) string {
	if len(ics) == 0 {
		return "all"
	}
	s := make([]string, len(ics))
	for i, c := range ics {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

var pageTmpl = template.Must(template.New("matrix").Funcs(template.FuncMap{"iceList": iceList, "paths": joinPaths}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>rtclab connectivity matrix</title>
<style>
body{font-family:"Liberation Sans",Arial,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin-top:28px} h3{font-size:15px;margin:18px 0 6px}
.verdict{font-size:18px;font-weight:bold;padding:8px 12px;border-radius:4px;display:inline-block}
.pass{background:#d9f0d3;color:#1b5e20}.fail{background:#fbd5d5;color:#8b0000}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}
th{background:#f3f3f3;text-align:left}
table.grid td{text-align:center;min-width:92px;border:2px solid #fff}
table.grid td.bad{border:3px solid #d7191c}
table.grid th{text-align:right}
.sub{font-size:11px;color:#333}
img{max-width:100%;border:1px solid #ddd}
.unexpected{background:#fde0e0}.deviation{background:#eef6fb}
.small{font-size:12px;color:#555}
</style></head><body>
<h1>rtclab connectivity matrix</h1>
<div class="verdict {{if eq .R.Verdict "pass"}}pass{{else}}fail{{end}}">{{.Headline}}</div>
<p class="small">Every NAT behaviour calls every other in the p2p topology, once per ICE configuration;
rows are the offerer (ICE controlling side), columns the answerer. Each cell runs {{.R.CellSeconds}} s of
scenario time in virtual time (seed {{.R.Seed}}, {{.R.Tool}}, started {{.R.StartedAt}}). A cell is
<b>expected</b> when its path is the one RFC 4787/RFC 8445 reasoning predicts (table below), a
<b>known pion behaviour</b> when a documented behaviour of pion's ICE explains the difference, and
<b>unexpected</b> otherwise; unexpected cells fail the run. Hover a cell for its explanation.</p>
{{with .Heatmap}}<img src="{{.}}" alt="connectivity heatmap">{{end}}
<h2>Grids</h2>
{{range .Panels}}<h3>{{.Title}}</h3>
<table class="grid"><tr><th></th>{{range .Cols}}<th style="text-align:center">{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><th>{{.Name}}</th>{{range .Cells}}<td style="background:{{.Colour}}"{{if .Bad}} class="bad"{{end}} title="{{.Title}}"><b>{{.Label}}</b><br><span class="sub">{{.Sub}}</span></td>{{end}}</tr>
{{end}}</table>
{{end}}
<h2>Every cell</h2>
<table><tr><th>ICE</th><th>offerer</th><th>answerer</th><th>expected</th><th>measured</th><th>status</th><th>ms to connect</th><th>offerer: pair; candidates; checks</th><th>answerer: pair; candidates; checks</th><th>explanation</th></tr>
{{range .Cells}}<tr class="{{.C.Status}}"><td>{{.C.ICE}}</td><td>{{.C.Row}}</td><td>{{.C.Col}}</td><td>{{.C.Expected}}</td><td>{{.C.Path}}</td><td>{{.C.Status}}{{with .C.Deviation}} ({{.}}){{end}}</td><td>{{.TTC}}</td><td>{{.Offerer}}</td><td>{{.Answerer}}</td><td>{{.C.Explanation}}</td></tr>
{{end}}</table>
<h2>Expectations (first matching rule decides)</h2>
<table><tr><th>rule</th><th>ICE</th><th>path</th><th>why</th></tr>
{{range .Rules}}<tr><td>{{.Name}}</td><td>{{iceList .ICE}}</td><td>{{if eq .Path "no-direct"}}failed without TURN, relay with it{{else}}{{.Path}}{{end}}</td><td>{{.Why}}</td></tr>
{{end}}</table>
<h2>Known pion behaviours</h2>
<table><tr><th>name</th><th>RFC model</th><th>measured</th><th>ICE</th><th>where</th><th>why</th></tr>
{{range .Deviations}}<tr><td>{{.Name}}</td><td>{{.Expected}}</td><td>{{paths .Got}}</td><td>{{iceList .ICE}}</td><td>{{.When}}</td><td>{{.Why}}</td></tr>
{{end}}</table>
</body></html>
`))
