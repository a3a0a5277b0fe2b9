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
			if _, ok := scenarios.BuiltinYAML(strings.TrimSuffix(a, "/")); ok {
				// A folder named like a built-in (an earlier run's
				// --out quickstart) holds no scenario: the name means
				// the built-in.
				return []string{strings.TrimSuffix(a, "/")}, nil
			}
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

// setSummary is the summary of a run of several scenarios, rewritten
// after each scenario so that a run killed half-way still leaves one.
type setSummary struct {
	env   *Env
	out   *outDir
	list  []*scenarios.Scenario
	reps  []*reports.Report
	dirs  []string
	start time.Time
}

// add records the report of the next scenario, written into dir, and
// rewrites summary.json and index.html.
func (s *setSummary) add(rep *reports.Report, dir string) error {
	p, err := filepath.Rel(s.out.path, dir)
	if err != nil {
		p = dir
	}
	s.reps = append(s.reps, rep)
	s.dirs = append(s.dirs, p)
	return s.write()
}

// summary lists every scenario of the set: those that ran with their
// reports, the rest as not run.
func (s *setSummary) summary() *reports.Summary {
	sum := reports.NewSummary(s.env.tool(), s.reps, s.dirs, float64(time.Since(s.start).Milliseconds())/1000)
	for _, sc := range s.list[len(s.reps):] {
		sum.AddNotRun(sc.Name, sc.Description)
	}
	return sum
}

func (s *setSummary) write() error {
	if _, err := reports.WriteSummary(s.out.path, s.summary()); err != nil {
		return err
	}
	return s.out.record(reports.SummaryJSONFile, reports.SummaryHTMLFile)
}

// finish writes the summary a last time and, when text is set, prints
// its table (not under --json, whose stdout is one JSON document).
func (s *setSummary) finish(text bool) error {
	if err := s.write(); err != nil || !text {
		return err
	}
	if err := reports.WriteSummaryText(s.env.Stdout, s.summary()); err != nil {
		return err
	}
	fmt.Fprintf(s.env.Stdout, "\nsummary: %s\n", filepath.Join(s.out.path, reports.SummaryHTMLFile))
	return nil
}
