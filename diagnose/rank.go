package diagnose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/reports"
)

// ComparisonSchema is the version of Comparison's JSON.
const ComparisonSchema = "rtclab.diagnose.compare/v1"

// Comparison ranks several servers diagnosed from one machine by the same
// measurements (rtclab diagnose --server A --server B).
type Comparison struct {
	// Schema is always ComparisonSchema.
	Schema string `json:"schema"`
	// Servers are best first.
	Servers []Ranked `json:"servers"`
}

// Ranked is one server's place and the numbers it was ranked by, all over
// its best path (nil when not measured).
type Ranked struct {
	// Rank is 1 for the best; servers that tie share a rank.
	Rank int `json:"rank"`
	// Server is the server's URL as given.
	Server string `json:"server"`
	// Verdict is the diagnosis's verdict level.
	Verdict Level `json:"verdict"`
	// BestPath is the best kind of path that connected.
	BestPath pathprobe.Kind `json:"best_path,omitempty"`
	// MOS is the estimated audio MOS (E-model) over the best path.
	MOS *float64 `json:"mos,omitempty"`
	// RTTMs, JitterMs and LossPct are the paced-probe results.
	RTTMs    *float64 `json:"rtt_ms,omitempty"`
	JitterMs *float64 `json:"jitter_ms,omitempty"`
	LossPct  *float64 `json:"loss_pct,omitempty"`
	// UpKbps and DownKbps are the bandwidth tests.
	UpKbps   *float64 `json:"upload_kbps,omitempty"`
	DownKbps *float64 `json:"download_kbps,omitempty"`
	// TURNOK of TURNTried allocations succeeded.
	TURNOK    int `json:"turn_ok"`
	TURNTried int `json:"turn_tried"`
	// Result is the whole diagnosis.
	Result Result `json:"result"`
}

// Rank orders results (results[i] diagnosed servers[i]): the better
// verdict first; then a server that connected before one that did not, a
// direct path before a relay; then the higher MOS (which weighs RTT,
// jitter and loss together), the lower RTT, the higher of the smaller
// bandwidth direction. Servers equal on all of these share a rank.
func Rank(servers []string, results []Result) Comparison {
	c := Comparison{Schema: ComparisonSchema}
	for i, res := range results {
		r := Ranked{Server: servers[i], Verdict: res.Verdict.Level, BestPath: res.BestPath, Result: res,
			MOS: metricOf(res, MetricMOS), RTTMs: metricOf(res, MetricRTT), JitterMs: metricOf(res, MetricJitter),
			LossPct: metricOf(res, MetricLoss), UpKbps: metricOf(res, MetricUpload), DownKbps: metricOf(res, MetricDownload),
			TURNTried: len(res.TURN)}
		for _, t := range res.TURN {
			if t.OK {
				r.TURNOK++
			}
		}
		c.Servers = append(c.Servers, r)
	}
	sort.SliceStable(c.Servers, func(i, j int) bool { return compareRanked(c.Servers[i], c.Servers[j]) < 0 })
	for i := range c.Servers {
		switch {
		case i == 0:
			c.Servers[i].Rank = 1
		case compareRanked(c.Servers[i-1], c.Servers[i]) == 0:
			c.Servers[i].Rank = c.Servers[i-1].Rank
		default:
			c.Servers[i].Rank = i + 1
		}
	}
	return c
}

// compareRanked is negative when a ranks before b. Numbers compare as
// the table shows them (MOS to 0.01, RTT to 0.1 ms, bandwidth to 1
// kbit/s), so that the order never rests on a difference nobody can see.
func compareRanked(a, b Ranked) int {
	keys := []struct{ a, b float64 }{
		{levelKey(a.Verdict), levelKey(b.Verdict)},
		{pathKey(a.BestPath), pathKey(b.BestPath)},
		{-round(value(a.MOS, 0), 100), -round(value(b.MOS, 0), 100)},
		{round(value(a.RTTMs, math.Inf(1)), 10), round(value(b.RTTMs, math.Inf(1)), 10)},
		{-round(math.Min(value(a.UpKbps, 0), value(a.DownKbps, 0)), 1), -round(math.Min(value(b.UpKbps, 0), value(b.DownKbps, 0)), 1)},
	}
	for _, k := range keys {
		if k.a < k.b {
			return -1
		}
		if k.a > k.b {
			return 1
		}
	}
	return 0
}

func round(v, per float64) float64 { return math.Round(v*per) / per }

func levelKey(l Level) float64 {
	if r := l.rank(); r > 0 {
		return float64(r)
	}
	return 4 // no verdict: last
}

func pathKey(k pathprobe.Kind) float64 {
	switch {
	case k == "":
		return 2
	case k.IsRelay():
		return 1
	}
	return 0
}

func value(p *float64, missing float64) float64 {
	if p == nil {
		return missing
	}
	return *p
}

// metricOf is the graded metric name over the best path.
func metricOf(res Result, name string) *float64 {
	for _, m := range res.Metrics {
		if m.Name == name && m.Path == res.BestPath {
			v := m.Value
			return &v
		}
	}
	return nil
}

// WriteComparisonJSON writes c as indented JSON.
func WriteComparisonJSON(w io.Writer, c Comparison) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

func cellOf(p *float64, format string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(format, *p)
}

// comparisonRows is the table both the text and the HTML show.
func comparisonRows(c Comparison) [][]string {
	rows := [][]string{{"#", "server", "verdict", "best path", "MOS", "RTT ms", "jitter ms", "loss %", "up kbit/s", "down kbit/s", "TURN"}}
	for _, r := range c.Servers {
		path := string(r.BestPath)
		if path == "" {
			path = "none"
		}
		rows = append(rows, []string{fmt.Sprint(r.Rank), r.Server, string(r.Verdict), path, cellOf(r.MOS, "%.2f"),
			cellOf(r.RTTMs, "%.1f"), cellOf(r.JitterMs, "%.1f"), cellOf(r.LossPct, "%.1f"), cellOf(r.UpKbps, "%.0f"),
			cellOf(r.DownKbps, "%.0f"), fmt.Sprintf("%d/%d", r.TURNOK, r.TURNTried)})
	}
	return rows
}

// WriteComparisonText writes the ranking as a table, best first, then each
// server's verdict in words.
func WriteComparisonText(w io.Writer, c Comparison) error {
	rows := comparisonRows(c)
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], len(cell))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Servers ranked by verdict, path, audio MOS, RTT and bandwidth (best first)\n\n")
	for _, row := range rows {
		for i, cell := range row {
			if i > 3 {
				fmt.Fprintf(&b, "  %*s", width[i], cell)
			} else {
				fmt.Fprintf(&b, "  %-*s", width[i], cell)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	for _, r := range c.Servers {
		fmt.Fprintf(&b, "%d. %s: %s — %s\n", r.Rank, r.Server, strings.ToUpper(string(r.Verdict)), r.Result.Verdict.Summary)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var comparisonTmpl = template.Must(template.New("cmp").Parse(`<h2>Ranking</h2>
<div class="scroll"><table>
<thead><tr>{{range index .Rows 0}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range $i, $r := .Rows}}{{if $i}}<tr>{{range $j, $c := $r}}<td{{if gt $j 3}} class="num"{{end}}>{{if eq $j 2}}<span class="badge {{$c}}">{{$c}}</span>{{else}}{{$c}}{{end}}</td>{{end}}</tr>{{end}}{{end}}</tbody>
</table></div>
<p class="note">Ranked by verdict, then a direct path before a relay, then the audio MOS (E-model: RTT, jitter and loss together), then RTT, then the smaller of upload and download. All numbers are over each server's best path.</p>
{{range .C.Servers}}<h2>{{.Rank}}. {{.Server}}</h2>
<p><span class="badge {{.Verdict}}">{{.Verdict}}</span> {{.Result.Verdict.Summary}}</p>
<ul class="findings">{{range .Result.Findings}}<li class="{{.Level}}">{{.Text}}{{if .Fix}} <i>To fix: {{.Fix}}</i>{{end}}</li>{{end}}</ul>
{{end}}`))

// WriteComparisonHTML writes the ranking as one page in the house style.
func WriteComparisonHTML(w io.Writer, c Comparison) error {
	var body bytes.Buffer
	if err := comparisonTmpl.Execute(&body, struct {
		C    Comparison
		Rows [][]string
	}{c, comparisonRows(c)}); err != nil {
		return fmt.Errorf("diagnose comparison html: %w", err)
	}
	word, class, summary := "NONE", "unknown", "No server was diagnosed."
	if len(c.Servers) > 0 {
		best := c.Servers[0]
		word = strings.ToUpper(string(best.Verdict))
		class = map[Level]string{Good: "pass", Warn: "warn", Bad: "fail"}[best.Verdict]
		if class == "" {
			class = "unknown"
		}
		summary = "Best: " + best.Server + " — " + best.Result.Verdict.Summary
	}
	return reports.WritePage(w, reports.Page{
		Title: word + " · rtclab diagnose: " + fmt.Sprint(len(c.Servers)) + " servers", Word: word, Class: class,
		Heading: fmt.Sprintf("%d servers compared", len(c.Servers)), Summary: summary,
		Body:   template.HTML(body.String()), //nolint:gosec // executed by html/template above
		Footer: "rtclab diagnose · schema " + ComparisonSchema,
	})
}
