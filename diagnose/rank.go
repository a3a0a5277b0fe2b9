package diagnose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"

	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/reports"
)

// ComparisonSchema is the version of Comparison's JSON.
const ComparisonSchema = "rtclab.diagnose.compare/v1"

// The ranking's words, the same in the CLI's text and HTML, the console
// and the browser test page.
const (
	// RankTitle heads the ranking table.
	RankTitle = "Servers ranked by verdict, path, audio MOS, RTT and bandwidth (best first)"
	// RankNote says how the order was made.
	RankNote = "Ranked by verdict, then a direct path before a relay, then the audio MOS (E-model: RTT, jitter and loss together), then RTT, then the smaller of upload and download. All numbers are over each server's best path."
	// MaxRankServers bounds the servers one ranking (and one invite) holds.
	MaxRankServers = 8
)

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
	fmt.Fprintf(&b, "%s\n\n", RankTitle)
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
<p class="note">{{.Note}}</p>
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
		Note string
	}{c, comparisonRows(c), RankNote}); err != nil {
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

// RankPath ranks results measured elsewhere (the browser test page's, one
// per server of its invite): POST {"results": [Result, ...]}, each with
// its target, and get back RankedTable. Each result is graded again here,
// so the order follows from the measurements, never from a posted verdict.
const RankPath = "/rtclab/v1/rank"

// RankedTable is RankPath's answer: the Comparison with the words and the
// table every other ranking shows.
type RankedTable struct {
	Comparison
	// Title and Note are RankTitle and RankNote.
	Title string `json:"title"`
	Note  string `json:"note"`
	// Table is the ranking's rows, the header first, as the CLI prints it.
	Table [][]string `json:"table"`
}

// maxRankBytes bounds RankPath's body: a page's result is 5-60 KiB, so
// MaxRankServers of them fit many times over, and an endpoint anyone may
// call holds little memory per request.
const maxRankBytes = 2 << 20

// serveRank answers RankPath: 400 for anything but 1 to MaxRankServers
// results, 413 past maxRankBytes.
func serveRank(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "POST results to rank", http.StatusMethodNotAllowed)
		return
	}
	limit := int64(maxRankBytes)
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		http.Error(w, "reading the results: "+err.Error(), http.StatusBadRequest)
		return
	}
	if int64(len(body)) > limit {
		http.Error(w, fmt.Sprintf("results larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
		return
	}
	c, err := RankBody(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(RankedTable{Comparison: c, Title: RankTitle, Note: RankNote, Table: comparisonRows(c)})
}

// RankBody reads {"results": [...]} strictly, grades each result and ranks
// them, each named by its target.
func RankBody(body []byte) (Comparison, error) {
	var req struct {
		Results []json.RawMessage `json:"results"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Comparison{}, fmt.Errorf(`rank: want {"results": [result, ...]}: %w`, err)
	}
	if dec.More() {
		return Comparison{}, fmt.Errorf("rank: data after the JSON object")
	}
	if len(req.Results) == 0 || len(req.Results) > MaxRankServers {
		return Comparison{}, fmt.Errorf("rank: %d results: want 1 to %d", len(req.Results), MaxRankServers)
	}
	servers := make([]string, len(req.Results))
	results := make([]Result, len(req.Results))
	for i, raw := range req.Results {
		res, err := DecodeResult(bytes.NewReader(raw))
		if err != nil {
			return Comparison{}, fmt.Errorf("rank: results[%d]: %w", i, err)
		}
		Grade(&res)
		servers[i], results[i] = res.Target, res
		if servers[i] == "" {
			servers[i] = fmt.Sprintf("server %d", i+1)
		}
	}
	return Rank(servers, results), nil
}
