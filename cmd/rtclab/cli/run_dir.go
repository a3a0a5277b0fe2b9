package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// expandArg turns one scenario argument into scenario references: a
// directory on disk becomes every *.yaml in it (sorted), the name of a
// built-in group ("rfc8867") every scenario of the group, and anything
// else stays as it is.
func expandArg(a string) ([]string, error) {
	if fi, err := os.Stat(a); err == nil && fi.IsDir() {
		files, err := filepath.Glob(filepath.Join(a, "*.yaml"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: a directory without scenario files (*.yaml)", a)
		}
		slices.Sort(files)
		return files, nil
	}
	if g := scenarios.BuiltinGroup(strings.TrimSuffix(a, "/")); len(g) > 0 {
		return g, nil
	}
	return []string{a}, nil
}

// writeSummary writes summary.json and index.html for a run of several
// scenarios from the reports in their directories, and prints the
// summary table.
func writeSummary(env *Env, out string, dirs []string, wall time.Duration) error {
	var reps []*reports.Report
	var rel []string
	for _, d := range dirs {
		r, err := reports.ReadJSON(filepath.Join(d, reports.JSONFile))
		if err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		reps = append(reps, r)
		p, err := filepath.Rel(out, d)
		if err != nil {
			p = d
		}
		rel = append(rel, p)
	}
	s := reports.NewSummary("rtclab "+env.Version, reps, rel, float64(wall.Milliseconds())/1000)
	if _, err := reports.WriteSummary(out, s); err != nil {
		return err
	}
	if err := reports.WriteSummaryText(env.Stdout, s); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nsummary: %s\n", filepath.Join(out, reports.SummaryHTMLFile))
	return nil
}
