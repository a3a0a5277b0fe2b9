package conform

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
)

const (
	docsFile    = "../docs/conform.md"
	docsBegin   = "<!-- results:begin (go test ./conform -run TestConformance -update) -->"
	docsEnd     = "<!-- results:end -->"
	docsServers = "coturn,rtclab"
)

var statusWord = map[Status]string{Pass: "pass", Fail: "**FAIL**", NotSupported: "not supported", Skipped: "skipped", Error: "**ERROR**"}

// writeDocsTable rewrites the results table of docs/conform.md: one row
// per check, one column per server, each cell the status on every URL of
// that server (merged when they agree), then what every failure was.
func writeDocsTable(res map[string]map[string]Result) error {
	doc, err := os.ReadFile(docsFile)
	if err != nil {
		return err
	}
	i, j := bytes.Index(doc, []byte(docsBegin)), bytes.Index(doc, []byte(docsEnd))
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q ... %q markers", docsFile, docsBegin, docsEnd)
	}
	var b bytes.Buffer
	b.WriteString(docsBegin + "\n\n| check | RFC | level | coturn 4.6.1 | rtclab serve |\n|---|---|---|---|---|\n")
	var failures []string
	for _, c := range Checks() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |", c.ID, c.Section, strings.ToUpper(string(c.Level)))
		for _, srv := range strings.Split(docsServers, ",") {
			var kinds []string
			for k := range res[srv] {
				if strings.HasPrefix(k, c.ID+"|") {
					kinds = append(kinds, k)
				}
			}
			sort.Strings(kinds)
			byStatus := map[Status][]string{}
			var order []Status
			for _, k := range kinds {
				r := res[srv][k]
				kind := strings.TrimPrefix(k, c.ID+"|")
				if len(byStatus[r.Status]) == 0 {
					order = append(order, r.Status)
				}
				byStatus[r.Status] = append(byStatus[r.Status], kind)
				if r.Status == Fail || r.Status == Error {
					failures = append(failures, fmt.Sprintf("- %s, %s, `%s`: %s", srv, kind, c.ID, r.Detail))
				}
			}
			cell := "—"
			if len(order) == 1 {
				cell = statusWord[order[0]]
			} else if len(order) > 1 {
				var parts []string
				for _, s := range order {
					parts = append(parts, statusWord[s]+" ("+strings.Join(byStatus[s], ", ")+")")
				}
				cell = strings.Join(parts, "; ")
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nWhat each failure was (the check's own words):\n\n")
	for _, f := range failures {
		b.WriteString(strings.ReplaceAll(f, "|", "\\|") + "\n")
	}
	b.WriteString("\n")
	out := append(append(append([]byte{}, doc[:i]...), b.Bytes()...), doc[j:]...)
	return os.WriteFile(docsFile, out, 0o644)
}
