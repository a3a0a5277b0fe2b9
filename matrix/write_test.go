package matrix

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
)

// sample is a two-NAT, one-configuration result made by hand.
func sample() *Result {
	ms := 2240.0
	relay := &reports.CandidatePair{Local: "relay", Remote: "prflx", Protocol: "udp", RelayProtocol: "udp"}
	r := &Result{
		Schema: Schema, Tool: "rtclab test", NATs: []string{"open", "symmetric"}, ICE: []string{"stun-turn"},
		Seed: 1, CellSeconds: 5, Clock: "virtual", Workers: 1, Verdict: "fail", Matched: 2, Deviations: 1, Unexpected: 1,
	}
	add := func(row, col string, exp, got Path, status, dev string) {
		c := CellResult{ICE: "stun-turn", Row: row, Col: col, Expected: exp, Path: got, Why: "because <RFC>", Status: status, Deviation: dev, Rule: "r"}
		if got != Failed {
			c.Connected, c.TimeToConnectMS = true, &ms
			c.Offerer = End{Connected: true, TimeToConnectMS: &ms, SelectedPair: relay, Candidates: reports.CandidateCounts{Host: 1, Relay: 2}, ChecksSent: 40}
			c.Answerer = c.Offerer
		}
		c.Match = exp == got
		c.Explanation = c.explain()
		r.Cells = append(r.Cells, c)
	}
	add("open", "open", Host, Host, StatusExpected, "")
	add("open", "symmetric", Srflx, Prflx, StatusDeviation, "pion-srflx-own-socket")
	add("symmetric", "open", Prflx, Prflx, StatusExpected, "")
	add("symmetric", "symmetric", Relay, Failed, StatusUnexpected, "")
	return r
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	files, err := Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("files %v", files)
	}
	png, err := os.ReadFile(filepath.Join(dir, HeatmapFile))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("heatmap: %v, %d bytes", err, len(png))
	}
	back, err := ReadJSON(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if back.Schema != Schema || len(back.Cells) != 4 || back.Cells[1].Deviation != "pion-srflx-own-socket" || *back.Cells[0].TimeToConnectMS != 2240 {
		t.Errorf("round trip: %+v", back)
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, want := range []string{
		"4 cells: 2 expected, 1 known pion behaviours, 1 unexpected",
		"data:image/png;base64,",
		"expected relay but got failed",
		"because &lt;RFC&gt;",
		"pion-srflx-own-socket",
		"per-destination-vs-port-filter", // the expectations table
		`class="bad"`,
		"relay → prflx [relay/udp]; gathered 1 host, 2 relay; 40 checks",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Index(html, `<div class="word">FAIL</div>`) > strings.Index(html, "<img") {
		t.Error("the verdict is not first")
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, sample()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"FAIL matrix: 4 cells",
		"prflx* 2.2",
		"failed! > 5",
		"! stun-turn symmetric -> symmetric: expected relay but got failed",
		"* pion-srflx-own-socket (1 cells",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}
