package verify

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText prints the comparison stream by stream, then a verdict line.
func WriteText(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Recount of %s from its captures\n", r.Scenario)
	fmt.Fprintln(tw, "  STREAM\tQUANTITY\tREPORT\tRECOUNT\tTOLERANCE\tVERDICT\tHOW")
	for _, row := range r.Rows {
		verdict := "agree"
		if !row.Agree {
			verdict = "DISAGREE"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Stream, row.Quantity, num(row.Report), span(row.Low, row.High),
			"±"+num(row.Tolerance), verdict, row.Why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nSRTP: %s\ntshark: %s\n", r.Decrypted, r.Tshark)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	bad := r.Disagreements()
	if len(bad) == 0 {
		_, err := fmt.Fprintf(w, "AGREE: all %d numbers match the recount\n", len(r.Rows))
		return err
	}
	names := make([]string, len(bad))
	for i, b := range bad {
		names[i] = b.Stream + " " + b.Quantity
	}
	_, err := fmt.Fprintf(w, "DISAGREE: %d of %d numbers differ from the recount: %s\n", len(bad), len(r.Rows), strings.Join(names, "; "))
	return err
}

func num(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func span(lo, hi float64) string {
	if lo == hi {
		return num(lo)
	}
	return num(lo) + ".." + num(hi)
}
