package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtclab/rtclab/reports"
)

// shortFlows is smallFlows cut to 3 s of scenario time.
func shortFlows(name string) string {
	return strings.Replace(strings.Replace(smallFlows, "NAME", name, 1), "duration: 10s", "duration: 3s", 1)
}

func writeScenario(t *testing.T, dir, file, body string) string {
	t.Helper()
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkEvents fails unless path is a JSON Lines file of whole objects.
func checkEvents(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Errorf("%s line %d: %v: %q", path, n+1, err, sc.Text())
		}
		n++
	}
	return n
}

// Two runs started in the same second, in one process, each get a folder
// of their own with their own report and an events.jsonl of whole lines.
func TestTwoRunsInOneSecondGetTheirOwnFolders(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	a := writeScenario(t, work, "a.yaml", shortFlows("alpha"))
	b := writeScenario(t, work, "b.yaml", shortFlows("beta"))
	second := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, f := range []string{a, b} {
		env, _, _ := testEnv(t)
		env.Now = func() time.Time { return second }
		wg.Go(func() { codes[i] = Main([]string{"run", f}, env) })
	}
	wg.Wait()
	if codes[0] != ExitPass || codes[1] != ExitPass {
		t.Fatalf("exit codes %v", codes)
	}
	dirs, err := filepath.Glob(filepath.Join(defaultOutRoot, "20261130-050000*"))
	if err != nil || len(dirs) != 2 {
		t.Fatalf("run folders %v (%v), want 2", dirs, err)
	}
	names := map[string]bool{}
	for _, d := range dirs {
		rep, err := reports.ReadJSON(filepath.Join(d, reports.JSONFile))
		if err != nil {
			t.Fatal(err)
		}
		names[rep.Scenario.Name] = true
		if n := checkEvents(t, filepath.Join(d, eventsFile)); n == 0 {
			t.Errorf("%s: no events", d)
		}
		if _, err := os.Stat(filepath.Join(d, eventsPartial)); !os.IsNotExist(err) {
			t.Errorf("%s: %s left behind (%v)", d, eventsPartial, err)
		}
		m, err := readManifest(filepath.Join(d, manifestFile))
		if err != nil || m.State != "done" {
			t.Errorf("%s: manifest %+v, %v", d, m, err)
		}
	}
	if !names["alpha"] || !names["beta"] {
		t.Errorf("reports %v, want alpha and beta", names)
	}
}

// Of many runs claiming one folder at once, exactly one gets it; of many
// runs taking default names in one second, each gets a different folder.
func TestClaimIsExclusive(t *testing.T) {
	const n = 16
	root := t.TempDir()
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var wg sync.WaitGroup
	var won atomic.Int32
	got := make([]string, n)
	for i := range n {
		wg.Go(func() {
			if _, err := claimOut(empty, false, "test"); err == nil {
				won.Add(1)
			}
			o, err := claimDefaultOut(filepath.Join(root, "out"), "", now, "test")
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = o.path
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d runs claimed one empty folder, want 1", won.Load())
	}
	seen := map[string]bool{}
	for _, p := range got {
		if seen[p] {
			t.Errorf("folder %s given twice", p)
		}
		seen[p] = true
	}
}

func TestNonEmptyOutIsRefused(t *testing.T) {
	work := t.TempDir()
	sc := writeScenario(t, work, "a.yaml", shortFlows("alpha"))
	out := filepath.Join(work, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	notes := writeScenario(t, out, "notes.txt", "mine")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", sc, "--out", out}, "the folder is not empty (1 entries, e.g. \"notes.txt\"); name a new folder, or add --overwrite"},
		// --overwrite clears only what rtclab wrote: here nothing is known.
		{[]string{"run", sc, "--out", out, "--overwrite"}, "--overwrite clears only what rtclab wrote, and .rtclab-run.json cannot tell what that is"},
	} {
		env, _, errb := testEnv(t)
		if code := Main(tc.args, env); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, ExitUsage)
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, errb)
		}
	}
	if data, err := os.ReadFile(notes); err != nil || string(data) != "mine" {
		t.Errorf("user file touched: %q %v", data, err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Errorf("refused run wrote into the folder: %d entries", len(entries))
	}
}

// --overwrite removes what the earlier run wrote (here a set's
// sub-folders and summary) and nothing else.
func TestOverwriteClearsOnlyWhatRtclabWrote(t *testing.T) {
	work := t.TempDir()
	one := writeScenario(t, work, "one.yaml", shortFlows("one"))
	two := writeScenario(t, work, "two.yaml", shortFlows("two"))
	out := filepath.Join(work, "out")
	env, stdout, errb := testEnv(t)
	if code := Main([]string{"run", one, two, "--out", out, "--pcap", filepath.Join(out, "cap")}, env); code != ExitPass {
		t.Fatalf("first run: exit %d\n%s\n%s", code, stdout, errb)
	}
	if pcaps, _ := filepath.Glob(filepath.Join(out, "cap", "one", "*.pcap")); len(pcaps) == 0 {
		t.Fatalf("first run wrote no capture into %s/cap/one", out)
	}
	notes := writeScenario(t, out, "notes.txt", "mine")
	env, stdout, errb = testEnv(t)
	if code := Main([]string{"run", one, "--out", out, "--overwrite"}, env); code != ExitPass {
		t.Fatalf("overwrite: exit %d\n%s\n%s", code, stdout, errb)
	}
	for _, gone := range []string{"one", "two", "cap", reports.SummaryJSONFile, reports.SummaryHTMLFile} {
		if _, err := os.Stat(filepath.Join(out, gone)); !os.IsNotExist(err) {
			t.Errorf("%s from the earlier run is still there (%v)", gone, err)
		}
	}
	if data, err := os.ReadFile(notes); err != nil || string(data) != "mine" {
		t.Errorf("user file: %q %v", data, err)
	}
	if _, err := reports.ReadJSON(filepath.Join(out, reports.JSONFile)); err != nil {
		t.Error(err)
	}
	checkEvents(t, filepath.Join(out, eventsFile))
}

// Two scenario files with one name get two folders and two summary rows.
func TestDuplicateScenarioNamesGetTheirOwnFolders(t *testing.T) {
	work := t.TempDir()
	in := filepath.Join(work, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	writeScenario(t, in, "a.yaml", shortFlows("good"))
	writeScenario(t, in, "b.yaml", strings.Replace(shortFlows("good"), "duration: 3s", "duration: 2s", 1))
	out := filepath.Join(work, "out")
	env, stdout, errb := testEnv(t)
	if code := Main([]string{"run", in, "--out", out}, env); code != ExitPass {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errb)
	}
	var sum reports.Summary
	data, err := os.ReadFile(filepath.Join(out, reports.SummaryJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Scenarios) != 2 || sum.Scenarios[0].Dir != "good" || sum.Scenarios[1].Dir != "good-2" {
		t.Fatalf("summary rows %+v", sum.Scenarios)
	}
	for i, want := range []float64{3, 2} {
		rep, err := reports.ReadJSON(filepath.Join(out, sum.Scenarios[i].Dir, reports.JSONFile))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Scenario.DurationS != want {
			t.Errorf("%s holds the %v s run, want %v s", sum.Scenarios[i].Dir, rep.Scenario.DurationS, want)
		}
	}
}

// A set stopped in its third scenario lists all four: passed, failed,
// interrupted with the time it reached, and not run.
func TestInterruptedSetListsEveryScenario(t *testing.T) {
	work := t.TempDir()
	failing := strings.Replace(shortFlows("fails"), "{metric: residual_loss_fraction, max: 0.05}", "{metric: residual_loss_fraction, min: 0.5}", 1)
	args := []string{"run",
		writeScenario(t, work, "1.yaml", shortFlows("passes")),
		writeScenario(t, work, "2.yaml", failing),
		writeScenario(t, work, "3.yaml", strings.Replace(shortFlows("stopped"), "duration: 3s", "duration: 10s", 1)),
		writeScenario(t, work, "4.yaml", shortFlows("never")),
		"--out", filepath.Join(work, "out"),
	}
	env, stdout, errb := testEnv(t)
	calls := 0
	env.Bubble = func(f func()) {
		calls++
		synctest.Test(t, func(*testing.T) {
			if calls == 3 {
				// The user presses Ctrl-C 4 s into the third scenario.
				go func() { time.Sleep(4 * time.Second); env.Interrupt.Store(true) }()
			}
			f()
		})
	}
	if code := Main(args, env); code != ExitFail {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errb)
	}
	var sum reports.Summary
	data, err := os.ReadFile(filepath.Join(work, "out", reports.SummaryJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range sum.Scenarios {
		got = append(got, e.Name+":"+e.Status)
	}
	if want := "passes:passed fails:failed stopped:interrupted never:not run"; strings.Join(got, " ") != want {
		t.Fatalf("statuses %q, want %q", strings.Join(got, " "), want)
	}
	// The time reached, from the samples, against the runner's own
	// "interrupted" event in the same report.
	stopped := sum.Scenarios[2]
	rep, err := reports.ReadJSON(filepath.Join(work, "out", stopped.Dir, reports.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	at := -1.0
	for _, e := range rep.Events {
		if e.Source == "runner" && e.Kind == "interrupted" {
			at = e.T
		}
	}
	if at <= 0 || at >= 4 || stopped.ReachedS == nil || *stopped.ReachedS != at {
		t.Errorf("reached %v, the runner's interrupted event at %v s (want within the 4 s since start)", stopped.ReachedS, at)
	} else if want := 6 + at; sum.Verdict != "fail" || sum.ScenarioSeconds < want-0.01 || sum.ScenarioSeconds > want+0.01 {
		t.Errorf("verdict %s, scenario seconds %v, want 3+3+%v (not the stopped run's 10)", sum.Verdict, sum.ScenarioSeconds, at)
	}
	if !strings.Contains(stdout.String(), "Summary: 1 of 4 scenarios passed, 1 interrupted, 1 not run") ||
		!strings.Contains(stdout.String(), "NOT RUN") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(work, "out", "never")); !os.IsNotExist(err) {
		t.Errorf("a folder for the scenario not run: %v", err)
	}
}

func TestSafeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"good", "good"},
		{"5.1 variable capacity", "5.1_variable_capacity"},
		{"../etc", "_etc"},
		{"a/b", "a_b"},
		{"..", "scenario"},
		{"", "scenario"},
	} {
		if got := safeName(tc.in); got != tc.want {
			t.Errorf("safeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
