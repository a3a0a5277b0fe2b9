package cli

import (
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// runJSON is `rtclab run --json`: what CI needs to gate on and where the
// reports are; the numbers themselves are in each report.json.
type runJSON struct {
	// Verdict is "pass" when every scenario passed, else "fail".
	Verdict string `json:"verdict"`
	// Tool is the build that ran them.
	Tool reports.ToolBuild `json:"tool"`
	// Summary is the summary.json of a run of several scenarios.
	Summary string `json:"summary,omitempty"`
	// Scenarios are the runs, in order.
	Scenarios []runJSONEntry `json:"scenarios"`
}

type runJSONEntry struct {
	// Name is the scenario's name.
	Name string `json:"name"`
	// Verdict is "pass" or "fail" (a failed check, a broken or
	// interrupted run, or no checks under --require-checks).
	Verdict string `json:"verdict"`
	// Seed is the seed the emulated network ran with.
	Seed int64 `json:"seed"`
	// Expectations counts the scenario's own expect entries (0: it
	// declares no checks); Checks, Passed and Failed count the report's
	// checks, the implicit ones included.
	Expectations int `json:"expectations"`
	Checks       int `json:"checks"`
	Passed       int `json:"passed"`
	Failed       int `json:"failed"`
	// Partial is true when the run stopped early.
	Partial bool `json:"partial,omitempty"`
	// Report is the report.json written.
	Report string `json:"report"`
}

func (j *runJSON) add(rep *reports.Report, dir string, ok bool) {
	e := runJSONEntry{
		Name: rep.Scenario.Name, Verdict: "pass", Seed: rep.Scenario.Seed,
		Checks: len(rep.Checks), Passed: passed(rep), Partial: rep.Partial,
		Report: filepath.Join(dir, reports.JSONFile),
	}
	for _, c := range rep.Checks {
		if c.Failed() {
			e.Failed++
		}
	}
	if x := rep.Scenario.Expectations; x != nil {
		e.Expectations = *x
	}
	if !ok {
		e.Verdict = "fail"
	}
	j.Scenarios = append(j.Scenarios, e)
}

// passed counts the checks that do not count against the run.
func passed(rep *reports.Report) int {
	n := 0
	for _, c := range rep.Checks {
		if !c.Failed() {
			n++
		}
	}
	return n
}

// needFFmpeg refuses --quality up front when ffmpeg is missing, instead of
// running the scenario and then not measuring.
func needFFmpeg(env *Env) error {
	look := env.LookPath
	if look == nil {
		look = exec.LookPath
	}
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := look(tool); err != nil {
			return usagef("--quality decodes the received video with %s, which is not on PATH: install ffmpeg (apt install ffmpeg, brew install ffmpeg) or drop --quality", tool)
		}
	}
	return nil
}

// fixedValues completes a flag from a fixed list of values.
func fixedValues(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeScenarios completes built-in scenario names, and files.
func completeScenarios(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []string
	for _, n := range append(scenarios.BuiltinNames(), scenarios.RFC8867, scenarios.Privacy) {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveDefault
}

// matrixJSON is `rtclab matrix --json`; the cells are in matrix.json.
type matrixJSON struct {
	// Verdict is "pass" when every cell matched or is a known deviation.
	Verdict string `json:"verdict"`
	// Tool is the build that ran the matrix.
	Tool reports.ToolBuild `json:"tool"`
	// Partial is true when the run stopped early.
	Partial bool `json:"partial,omitempty"`
	// Cells counts the cells run, and the rest by outcome.
	Cells      int `json:"cells"`
	Matched    int `json:"matched"`
	Deviations int `json:"deviations"`
	Unexpected int `json:"unexpected"`
	Errors     int `json:"errors"`
	// Result and Report are the matrix.json and report.html written.
	Result string `json:"result"`
	Report string `json:"report"`
}

// completeList completes the last element of a comma-separated list.
func completeList(prefix string, values []string) []cobra.Completion {
	done, last := "", prefix
	if i := strings.LastIndex(prefix, ","); i >= 0 {
		done, last = prefix[:i+1], prefix[i+1:]
	}
	var out []string
	for _, v := range values {
		if strings.HasPrefix(v, last) {
			out = append(out, done+v)
		}
	}
	return out
}
