package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
)

// BrowserCheck is a browser participant's cross-check: what its getStats()
// said against what rtclab counted on the wire, stream by stream.
type BrowserCheck struct {
	// Participant is the browser's name.
	Participant string `json:"participant"`
	// Client is the program, "chromium".
	Client string `json:"client"`
	// Samples is how many getStats() snapshots were taken (one a second).
	Samples int `json:"samples"`
	// Exited is set when the browser's process ended before the run did;
	// the rows are then those of its last snapshot.
	Exited bool `json:"exited,omitempty"`
	// Rows compare one figure each.
	Rows []CrossCheck `json:"rows"`
}

// CrossCheck is one figure measured twice.
type CrossCheck struct {
	// What names the figure and the stream, e.g. "loss_fraction
	// bob->alice video (before repair)".
	What string `json:"what"`
	// Unit is the unit of the values ("" for a fraction).
	Unit string `json:"unit,omitempty"`
	// GetStats is the browser's figure, Capture rtclab's from the capture
	// of the access link named in Where; Diff is GetStats - Capture.
	GetStats float64 `json:"getstats"`
	Capture  float64 `json:"capture"`
	Diff     float64 `json:"diff"`
	// Where is the host whose link capture gave Capture.
	Where string `json:"where"`
	// Tolerance is the largest |Diff| taken as agreement; Agree says
	// whether Diff is within it.
	Tolerance float64 `json:"tolerance"`
	Agree     bool    `json:"agree"`
}

// browserRows are the cross-check rows of every browser as table cells.
func browserRows(bs []BrowserCheck) [][]string {
	var rows [][]string
	for _, bc := range bs {
		for _, c := range bc.Rows {
			verdict := "agree"
			if !c.Agree {
				verdict = "DIFFER"
			}
			prec := 4
			if c.Unit != "" {
				prec = 2
			}
			rows = append(rows, []string{bc.Participant, c.What, fixed(c.GetStats, prec), fixed(c.Capture, prec), fixed(c.Diff, prec),
				"±" + fixed(c.Tolerance, prec), c.Where, verdict})
		}
		if len(bc.Rows) == 0 {
			rows = append(rows, []string{bc.Participant, "no getStats snapshot", "—", "—", "—", "—", "—", "—"})
		}
	}
	return rows
}

var browserHead = []string{"BROWSER", "FIGURE", "GETSTATS", "CAPTURE", "DIFF", "TOLERANCE", "CAPTURED AT", "VERDICT"}

// writeBrowsers writes the cross-check section of the text report.
func writeBrowsers(b *bytes.Buffer, bs []BrowserCheck) {
	if len(bs) == 0 {
		return
	}
	b.WriteString("\nBrowsers (getStats against rtclab's capture of the same streams)\n")
	var t table
	t.row(browserHead...)
	for _, r := range browserRows(bs) {
		t.row(r...)
	}
	t.writeTo(b)
	for _, bc := range bs {
		if bc.Exited {
			fmt.Fprintf(b, "  %s's browser exited during the call: figures from its last snapshot (%d taken)\n", bc.Participant, bc.Samples)
		}
	}
}

// browsersHTML is the cross-check section of the HTML report.
func browsersHTML(bs []BrowserCheck) template.HTML {
	if len(bs) == 0 {
		return ""
	}
	var b strings.Builder
	head := []string{"Browser", "Figure", "getStats", "Capture", "Diff", "Tolerance", "Captured at", "Verdict"}
	htmlTable(&b, "Browsers", "Each browser's own getStats() figures beside rtclab's count of the same streams on the capture of an access link: loss before repair, RFC 3550 jitter, packets, and the mean round trip (the browser's RTCP measurements against the peer's ICE checks).",
		2, head, browserRows(bs))
	return template.HTML(b.String()) //nolint:gosec // htmlTable escapes every value
}
