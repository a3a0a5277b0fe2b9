package sweep

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the verdict line and the table: a row per cell, the
// axes' values, the status and a column per series.
func WriteText(w io.Writer, r *Result) error {
	verdict := "PASS"
	if r.Verdict != "pass" {
		verdict = "FAIL"
	}
	if r.Partial {
		verdict += " (PARTIAL)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s sweep %s (%s clock, %.1f s wall)\n\n", verdict, Headline(r), r.Clock, r.WallSeconds)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"cell"}
	for _, a := range r.Axes {
		head = append(head, a.Path)
	}
	head = append(head, "status")
	for _, k := range r.Series {
		head = append(head, k.Metric+" "+k.Subject)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, c := range r.Cells {
		row := append([]string{fmt.Sprint(c.Index)}, c.Values...)
		row = append(row, c.Status)
		for _, k := range r.Series {
			v := formatValue(c.Value(k))
			if v == "" {
				v = "-"
			} else if len(v) > 8 {
				v = fmt.Sprintf("%.4g", *c.Value(k))
			}
			row = append(row, v)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}
