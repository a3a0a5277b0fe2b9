package compare

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
)

// Headline is the one-word outcome: WORSE when a metric got worse beyond
// noise (or a scenario or a measured value went missing), else BETTER
// when one got better, CHANGED when only undirected ones moved, SAME.
func (r *Result) Headline() string {
	switch {
	case r.Worse() > 0:
		return "WORSE"
	case r.Better() > 0:
		return "BETTER"
	}
	for _, s := range r.Scenarios {
		if len(s.Changes) > 0 {
			return "CHANGED"
		}
	}
	if len(r.OnlyNew) > 0 {
		return "CHANGED"
	}
	return "SAME"
}

// WriteText prints the comparison as a terminal shows it: the headline
// first, then per scenario the noise model and a table of every metric
// that moved beyond it.
func WriteText(w io.Writer, r *Result) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s -> %s: %d worse, %d better\n", r.Headline(), r.Old, r.New, r.Worse(), r.Better())
	for _, name := range r.OnlyOld {
		fmt.Fprintf(&b, "  ✗ scenario %s is missing from %s\n", name, r.New)
	}
	for _, name := range r.OnlyNew {
		fmt.Fprintf(&b, "  + scenario %s is new in %s\n", name, r.New)
	}
	for _, s := range r.Scenarios {
		fmt.Fprintf(&b, "\n%s: %d of %d metrics moved beyond noise (verdict %s -> %s)\n",
			s.Name, len(s.Changes), s.Compared, s.OldVerdict, s.NewVerdict)
		fmt.Fprintf(&b, "  noise: %s (%s)\n", s.Noise, s.Why)
		if len(s.Changes) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  \tSUBJECT\tMETRIC\tOLD\tNEW\tCHANGE\tNOISE\tVERDICT")
		for _, c := range s.Changes {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark(c.Verdict), c.Subject, c.Metric,
				Format(c.Old, c.Unit), Format(c.New, c.Unit), delta(c), noise(c, s.Noise), c.Verdict)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("compare text: %w", err)
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("compare text: %w", err)
	}
	return nil
}

func mark(verdict string) string {
	switch verdict {
	case VerdictWorse, VerdictMissing:
		return "✗"
	case VerdictBetter:
		return "✓"
	}
	return "·"
}

// Format prints a value with its unit at a precision that suits it: a
// fraction as a percentage with two decimals, milliseconds whole above
// 100, kbit/s whole, counts without decimals, scores with two.
func Format(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	x := *v
	switch unit {
	case "%":
		return strconv.FormatFloat(100*x, 'f', 2, 64) + " %"
	case "ms":
		if math.Abs(x) >= 100 {
			return strconv.FormatFloat(x, 'f', 0, 64) + " ms"
		}
		return strconv.FormatFloat(x, 'f', 1, 64) + " ms"
	case "kbit/s":
		return strconv.FormatFloat(x, 'f', 0, 64) + " kbit/s"
	case "fps", "dB":
		return strconv.FormatFloat(x, 'f', 1, 64) + " " + unit
	}
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// delta is NEW − OLD in the value's unit; a percentage moves in points.
func delta(c Change) string {
	if c.Old == nil || c.New == nil {
		return "—"
	}
	d := *c.New - *c.Old
	sign := "+"
	if d < 0 {
		sign = "−"
		d = -d
	}
	if c.Unit == "%" {
		return sign + strconv.FormatFloat(100*d, 'f', 2, 64) + " pt"
	}
	return sign + Format(&d, c.Unit)
}

func noise(c Change, model string) string {
	if c.Old == nil || c.New == nil {
		return "—"
	}
	if model == Exact {
		return "exact"
	}
	n := c.Noise
	if c.Unit == "%" {
		return "±" + strconv.FormatFloat(100*n, 'f', 2, 64) + " pt"
	}
	return "±" + Format(&n, c.Unit)
}
