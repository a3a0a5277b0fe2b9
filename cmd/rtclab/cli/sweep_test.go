package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/sweep"
)

// A sweep is validated whole before anything runs: a bad --vary, a bad
// --metric or a bad --shard is exit 2 naming the flag.
func TestSweepUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep"}, "at least one --vary"},
		{[]string{"sweep", "--vary", "seed"}, `bad --vary "seed": want PATH=VALUES`},
		{[]string{"sweep", "--vary", "participants.carol.downlink.loss=1%"}, `"participants.carol.downlink.loss=1%"`},
		{[]string{"sweep", "--vary", "participants.bob.downlink.loss=0..200%/50%"}, "150% is outside 0%..100%"},
		{[]string{"sweep", "--vary", "seed=1,2", "--metric", "freezes"}, `bad --metric "freezes"`},
		{[]string{"sweep", "--vary", "seed=1,2", "--shard", "3/3"}, "--shard"},
		{[]string{"sweep", "no-such-scenario", "--vary", "seed=1"}, "no such file"},
	} {
		env, out, errb := testEnv(t)
		dir := filepath.Join(t.TempDir(), "out")
		code := Main(append(tc.args, "--out", dir), env)
		if code != ExitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %q", tc.args, code, errb, tc.want)
		}
		if _, err := os.Stat(dir); err == nil || out.Len() > 0 {
			t.Errorf("%v: something was written on bad input", tc.args)
		}
	}
}

// N=3 shard processes (here: in-process commands) and `rtclab merge`
// give the report of the unsharded sweep: sweep.json byte for byte after
// dropping the wall-clock fields, and the same table.
func TestSweepShardsMerge(t *testing.T) {
	args := []string{"sweep", "quickstart", "--vary", "participants.bob.downlink.loss=0%,6%", "--vary", "seed=1,2",
		"--vary", "duration=4s", "--metric", "freeze_count", "--metric", "mos", "--workers", "1"}
	root := t.TempDir()
	sweepOut := func(extra ...string) (string, string) {
		env, out, errb := testEnv(t)
		dir := filepath.Join(root, "out"+strings.ReplaceAll(strings.Join(extra, "-"), "/", "of"))
		code := Main(append(append(append([]string{}, args...), "--out", dir), extra...), env)
		if code != ExitPass && code != ExitFail {
			t.Fatalf("%v: exit %d\n%s", extra, code, errb)
		}
		return dir, out.String()
	}
	whole, wholeText := sweepOut()
	var shards []string
	for i := range 3 {
		d, _ := sweepOut("--shard", fmt.Sprintf("%d/3", i))
		shards = append(shards, d)
	}
	env, out, errb := testEnv(t)
	merged := filepath.Join(root, "merged")
	code := Main(append([]string{"merge", "--out", merged}, shards...), env)
	if code != ExitPass && code != ExitFail {
		t.Fatalf("merge: exit %d\n%s", code, errb)
	}
	a, b := wallFreeJSON(t, filepath.Join(whole, sweep.JSONFile)), wallFreeJSON(t, filepath.Join(merged, sweep.JSONFile))
	if !bytes.Equal(a, b) {
		t.Errorf("merged sweep.json differs from the whole sweep's:\n%s\n---\n%s", a, b)
	}
	for _, f := range []string{sweep.CSVFile, "freeze_count.png", "mos.png"} {
		x, _ := os.ReadFile(filepath.Join(whole, f))
		y, err := os.ReadFile(filepath.Join(merged, f))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between the whole sweep and the merge (%v)", f, err)
		}
	}
	if tableOf(wholeText) != tableOf(out.String()) {
		t.Errorf("tables differ:\n%s\n---\n%s", wholeText, out)
	}
	// --json: the summary, not the table, on stdout.
	env, out, errb = testEnv(t)
	if code := Main(append([]string{"merge", "--json", "--out", filepath.Join(root, "json")}, shards...), env); code != ExitPass && code != ExitFail {
		t.Fatalf("merge --json: exit %d\n%s", code, errb)
	}
	var sum sweepJSON
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || sum.Cells != 4 || sum.Passed+sum.Failed != 4 || sum.Result == "" {
		t.Errorf("merge --json: %v, %+v\n%s", err, sum, out)
	}
	// A shard given twice is unusable input.
	env, _, errb = testEnv(t)
	if code := Main([]string{"merge", "--out", filepath.Join(root, "twice"), shards[0], shards[0], shards[1]}, env); code != ExitUsage {
		t.Errorf("merge of a doubled shard: exit %d, %s", code, errb)
	}
}

// tableOf drops the verdict line, which carries the wall time.
func tableOf(s string) string {
	_, rest, _ := strings.Cut(s, "\n")
	rest, _, _ = strings.Cut(rest, "report:")
	return rest
}

func wallFreeJSON(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"started_at", "wall_seconds"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("%s: no %s", path, k)
		}
	}
	// Byte for byte: only the two wall-clock lines are cut from the file.
	var keep []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, `  "started_at": `) || strings.HasPrefix(line, `  "wall_seconds": `) {
			continue
		}
		keep = append(keep, line)
	}
	return []byte(strings.Join(keep, "\n"))
}

// Three shards of `rtclab run` over a set and `rtclab merge` give the
// set's folders and summary as the unsharded run writes them.
func TestRunShardsMerge(t *testing.T) {
	set := t.TempDir()
	for i, loss := range []string{"0%", "2%", "4%", "6%"} {
		yaml := fmt.Sprintf("name: s%d\nduration: 3s\nparticipants:\n  - name: a\n    publish: [audio]\n  - name: b\n    publish: [audio]\n    downlink: {loss: %s}\nexpect:\n  - metric: connected\n    min: 1\n", i, loss)
		if err := os.WriteFile(filepath.Join(set, fmt.Sprintf("s%d.yaml", i)), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	run := func(out string, extra ...string) {
		env, _, errb := testEnv(t)
		if code := Main(append([]string{"run", set, "--out", out}, extra...), env); code != ExitPass {
			t.Fatalf("run %v: exit %d\n%s", extra, code, errb)
		}
	}
	whole := filepath.Join(root, "whole")
	run(whole)
	var shards []string
	for i := range 3 {
		d := filepath.Join(root, fmt.Sprintf("shard-%d", i))
		run(d, "--shard", fmt.Sprintf("%d/3", i))
		shards = append(shards, d)
	}
	env, _, errb := testEnv(t)
	merged := filepath.Join(root, "merged")
	if code := Main(append([]string{"merge", "--out", merged}, shards...), env); code != ExitPass {
		t.Fatalf("merge: exit %d\n%s", code, errb)
	}
	var a, b reports.Summary
	for _, x := range []struct {
		dir string
		s   *reports.Summary
	}{{whole, &a}, {merged, &b}} {
		data, err := os.ReadFile(filepath.Join(x.dir, reports.SummaryJSONFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, x.s); err != nil {
			t.Fatal(err)
		}
		x.s.WallSeconds = 0
		for i := range x.s.Scenarios {
			x.s.Scenarios[i].WallSeconds = 0
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) || len(a.Scenarios) != 4 {
		t.Errorf("merged summary differs from the whole set's:\n%s\n---\n%s", ja, jb)
	}
	for _, e := range a.Scenarios {
		x := reportContent(t, filepath.Join(whole, e.Dir, reports.JSONFile))
		y := reportContent(t, filepath.Join(merged, e.Dir, reports.JSONFile))
		if !bytes.Equal(x, y) {
			t.Errorf("%s: report.json differs between the whole run and the merge:\n%s\n---\n%s", e.Dir, x, y)
		}
	}
}

// reportContent is a report.json without what differs between two runs of
// one seed: the wall clock, and the SSRCs, which pion draws at random
// (not from the scenario's seed).
func reportContent(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var strip func(any)
	strip = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "started_at" || k == "wall_seconds" || strings.Contains(k, "ssrc") {
					delete(x, k)
					continue
				}
				strip(e)
			}
		case []any:
			for _, e := range x {
				strip(e)
			}
		}
	}
	strip(v)
	out, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// --procs shares the cells out to copies of the rtclab binary (one shard
// each) and merges them: the same sweep.json as one process.
func TestSweepProcs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the rtclab binary")
	}
	exe := filepath.Join(t.TempDir(), "rtclab")
	build := exec.Command("go", "build", "-o", exe, "github.com/rtclab/rtclab/cmd/rtclab")
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	args := []string{"sweep", "quickstart", "--vary", "participants.bob.downlink.loss=0%,6%", "--vary", "duration=4s,5s",
		"--metric", "freeze_count"}
	root := t.TempDir()
	one, procs := filepath.Join(root, "one"), filepath.Join(root, "procs")
	env, _, errb := testEnv(t)
	if code := Main(append(args, "--out", one, "--procs", "1"), env); code != ExitPass && code != ExitFail {
		t.Fatalf("one process: exit %d\n%s", code, errb)
	}
	env, _, errb = testEnv(t)
	env.Executable = exe
	if code := Main(append(args, "--out", procs), env); code != ExitPass && code != ExitFail {
		t.Fatalf("--procs: exit %d\n%s", code, errb)
	}
	if !strings.Contains(errb.String(), "processes)") {
		t.Errorf("the sweep did not start processes:\n%s", errb)
	}
	if a, b := wallFreeJSON(t, filepath.Join(one, sweep.JSONFile)), wallFreeJSON(t, filepath.Join(procs, sweep.JSONFile)); !bytes.Equal(a, b) {
		t.Errorf("--procs sweep.json differs from one process's:\n%s\n---\n%s", a, b)
	}
	// Without a binary to start, --procs above 1 is refused.
	env, _, errb = testEnv(t)
	if code := Main(append(args, "--out", filepath.Join(root, "x"), "--procs", "2"), env); code != ExitUsage {
		t.Errorf("--procs 2 without a binary: exit %d, %s", code, errb)
	}
}
