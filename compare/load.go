package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rtclab/rtclab/reports"
)

// ErrInput marks a path that holds no comparable run: missing, not a
// report or summary, another schema, or runs of different scenarios.
var ErrInput = errors.New("not a comparable run")

// summaryFile is the summary of a run of several scenarios.
const summaryFile = "summary.json"

// Run is one side of a comparison: its reports by scenario name, in the
// order the run holds them.
type Run struct {
	// Path is what was given: a report file or a run directory.
	Path string
	// Names are the scenario names in run order; Reports holds each.
	Names   []string
	Reports map[string]*reports.Report
}

// Load reads a run: a report.json file, a directory holding report.json,
// or a directory holding summary.json and one report directory per
// scenario (scenarios that did not run are left out).
func Load(path string) (*Run, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	run := &Run{Path: path, Reports: map[string]*reports.Report{}}
	if !fi.IsDir() {
		return run, run.add(path)
	}
	if _, err := os.Stat(filepath.Join(path, reports.JSONFile)); err == nil {
		return run, run.add(filepath.Join(path, reports.JSONFile))
	}
	data, err := os.ReadFile(filepath.Join(path, summaryFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %s holds neither %s nor %s", ErrInput, path, reports.JSONFile, summaryFile)
	}
	var sum reports.Summary
	if err := json.Unmarshal(data, &sum); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInput, filepath.Join(path, summaryFile), err)
	}
	for _, e := range sum.Scenarios {
		if e.Dir == "" {
			continue // not run
		}
		if err := run.add(filepath.Join(path, e.Dir, reports.JSONFile)); err != nil {
			return nil, err
		}
	}
	if len(run.Names) == 0 {
		return nil, fmt.Errorf("%w: %s: no scenario of the summary has a report", ErrInput, path)
	}
	return run, nil
}

func (r *Run) add(file string) error {
	rep, err := reports.ReadJSON(file)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	name := rep.Scenario.Name
	if _, dup := r.Reports[name]; dup {
		// Two scenarios of one name run as name, name-2, ...: pair them
		// by that order.
		for i := 2; ; i++ {
			n := fmt.Sprintf("%s-%d", rep.Scenario.Name, i)
			if _, dup := r.Reports[n]; !dup {
				name = n
				break
			}
		}
	}
	r.Names = append(r.Names, name)
	r.Reports[name] = rep
	return nil
}
