package matrix

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Headline is the result's verdict line, e.g. "PASS matrix: 196 cells,
// 152 expected, 44 known pion deviations, 0 unexpected (virtual clock,
// 4.1 s wall)".
func (r *Result) Headline() string {
	verdict := "PASS"
	if r.Verdict != "pass" {
		verdict = "FAIL"
	}
	if r.Partial {
		verdict += " (PARTIAL)"
	}
	s := fmt.Sprintf("%s matrix: %d cells, %d expected, %d known pion deviations, %d unexpected",
		verdict, len(r.Cells), r.Matched, r.Deviations, r.Unexpected)
	if r.Errors > 0 {
		s += fmt.Sprintf(", %d could not run", r.Errors)
	}
	return s + fmt.Sprintf(" (%s clock, %.1f s wall, %d worker(s))", r.Clock, r.WallSeconds, r.Workers)
}

// WriteText writes the verdict, one grid per ICE configuration and the
// explanation of every cell that is not as expected.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintln(&b, r.Headline())
	cells := map[string]CellResult{}
	for _, c := range r.Cells {
		cells[c.ICE+"|"+c.Row+"|"+c.Col] = c
	}
	for _, ice := range r.ICE {
		fmt.Fprintf(&b, "\n%s (rows: offerer, columns: answerer; path, seconds to connect)\n", ICEConfig(ice).Describe())
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		header := []string{""}
		for _, n := range r.NATs {
			header = append(header, short(n))
		}
		fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
		for _, row := range r.NATs {
			line := []string{row}
			for _, col := range r.NATs {
				c, ok := cells[ice+"|"+row+"|"+col]
				if !ok {
					line = append(line, "-")
					continue
				}
				label, sub := cellText(c, r.CellSeconds)
				line = append(line, strings.ReplaceAll(label, " ", "")+" "+strings.TrimSuffix(sub, " s"))
			}
			fmt.Fprintln(tw, strings.Join(line, "\t")+"\t")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(&b, "\n* known pion behaviour (does not fail), ! unexpected (fails the run)")
	var dev, bad []CellResult
	for _, c := range r.Cells {
		switch c.Status {
		case StatusDeviation:
			dev = append(dev, c)
		case StatusUnexpected, StatusError:
			bad = append(bad, c)
		}
	}
	if len(bad) > 0 {
		fmt.Fprintf(&b, "\nUnexpected (%d)\n", len(bad))
		for _, c := range bad {
			fmt.Fprintf(&b, "  ! %s %s -> %s: %s\n", c.ICE, c.Row, c.Col, c.Explanation)
		}
	}
	if len(dev) > 0 {
		fmt.Fprintf(&b, "\nKnown pion behaviours (%d cells)\n", len(dev))
		count := map[string]int{}
		for _, c := range dev {
			count[c.Deviation]++
		}
		for _, d := range Deviations {
			if count[d.Name] > 0 {
				fmt.Fprintf(&b, "  * %s (%d cells, RFC model: %s, measured: %s): %s\n", d.Name, count[d.Name], d.Expected, joinPaths(d.Got), d.Why)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func joinPaths(ps []Path) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// short abbreviates a NAT name for column headers.
func short(name string) string {
	switch name {
	case "port-restricted-cone":
		return "port-restr"
	case "restricted-cone":
		return "restricted"
	case "udp-blocked":
		return "udp-blk"
	}
	if len(name) > 10 {
		return name[:10]
	}
	return name
}
