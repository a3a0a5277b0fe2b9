package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtclab/rtclab/matrix"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// The CLI contract: usage errors exit 2 with one "rtclab: " prefix and a
// hint, before anything runs.
func TestUsageErrors(t *testing.T) {
	noFFmpeg := func(string) (string, error) { return "", errors.New("not found") }
	tests := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"unknown command", []string{"versio"}, []string{`rtclab: unknown command "versio"; did you mean "version"?`}},
		{"unknown command far from any", []string{"frobnicate"}, []string{`unknown command "frobnicate" (commands: `}},
		{"unknown subcommand", []string{"netem", "chek"}, []string{`rtclab: unknown command "chek" for "rtclab netem"; did you mean "check"? (commands: check; see 'rtclab netem --help')`}},
		{"flag value typo", []string{"run", "--clock", "virtul"}, []string{`--clock "virtul": allowed values are virtual, real; did you mean "virtual"?`}},
		{"ice value typo", []string{"matrix", "--ice", "stun,relay-onyl"}, []string{`--ice "relay-onyl": allowed host-only, stun, stun-turn, relay-only, mdns, mdns-lan, mdns-lan-strip; did you mean "relay-only"?`}},
		{"seed 0", []string{"run", "--seed", "0"}, []string{"--seed 0: must be >= 1"}},
		{"unknown flag, one prefix", []string{"run", "--bogus"}, []string{"rtclab: unknown flag: --bogus (see 'rtclab run --help')"}},
		{"out cannot be created", []string{"run", "--out", "/proc/rtclab-test/x"}, []string{"--out /proc/rtclab-test/x: cannot create the folder"}},
		{"quality without ffmpeg", []string{"run", "--quality", "--out", "OUT"}, []string{"--quality decodes the received video with ffmpeg", "install ffmpeg"}},
		{"show unknown", []string{"show", "quickstrat"}, []string{"no built-in scenario quickstrat; did you mean quickstart?"}},
		{"show needs a name", []string{"show"}, []string{"accepts 1 arg(s), received 0 (see 'rtclab show --help')"}},
		{"verify needs a dir", []string{"verify"}, []string{"(see 'rtclab verify --help')"}},
		{"pcap given the scenario", []string{"run", "--out", "OUT", "--pcap", "FILE"}, []string{"--pcap ", ": is a file; --pcap takes the folder to write into"}},
		{"log given the scenario", []string{"run", "--out", "OUT", "--log", "FILE"}, []string{": is a file; --log takes the folder"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, out, errb := testEnv(t)
			env.LookPath = noFFmpeg
			dir := filepath.Join(t.TempDir(), "out")
			file := filepath.Join(t.TempDir(), "my.yaml")
			if err := os.WriteFile(file, []byte("name: x\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for i, a := range tt.args {
				switch a {
				case "OUT":
					tt.args[i] = dir
				case "FILE":
					tt.args[i] = file
				}
			}
			if code := Main(tt.args, env); code != ExitUsage {
				t.Errorf("exit %d, want %d\nstderr: %s", code, ExitUsage, errb)
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr\n  %s\nlacks\n  %s", errb, w)
				}
			}
			if strings.Contains(errb.String(), "rtclab: rtclab") {
				t.Errorf("doubled prefix: %s", errb)
			}
			if strings.Contains(errb.String(), "running ") || out.Len() > 0 {
				t.Errorf("something ran: stdout %q stderr %q", out, errb)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("%s was created", dir)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		env, out, _ := testEnv(t)
		if code := Main(args, env); code != ExitPass || !strings.HasPrefix(out.String(), "rtclab ") {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
	env, out, _ := testEnv(t)
	env.Version = "v9.9.9"
	if code := Main([]string{"version", "--json"}, env); code != ExitPass {
		t.Fatalf("exit %d", code)
	}
	var b reports.ToolBuild
	if err := json.Unmarshal(out.Bytes(), &b); err != nil || b.Version != "v9.9.9" || b.Go == "" {
		t.Errorf("version --json: %+v, %v (%s)", b, err, out)
	}
}

func TestShowPrintsBuiltin(t *testing.T) {
	env, out, _ := testEnv(t)
	if code := Main([]string{"show", "rfc8867/5.1"}, env); code != ExitPass {
		t.Fatalf("exit %d", code)
	}
	want, _ := scenarios.BuiltinYAML("rfc8867/5.1")
	if out.String() != string(want) || len(want) == 0 {
		t.Errorf("show printed %d bytes, want the %d of the built-in", out.Len(), len(want))
	}
	if _, err := scenarios.Parse("shown.yaml", out.Bytes()); err != nil {
		t.Errorf("what show prints does not load: %v", err)
	}
}

func TestCompletion(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "run", "quick"}, []string{"quickstart\n", "quickstart-p2p\n"}},
		{[]string{"__complete", "show", "rfc8867/5."}, []string{"rfc8867/5.1\n"}},
		{[]string{"__complete", "run", "--clock", ""}, []string{"virtual\n", "real\n"}},
		{[]string{"__complete", "matrix", "--ice", "stun,re"}, []string{"stun,relay-only\n"}},
		{[]string{"__complete", "netem", "check", "--trace", "builtin:"}, []string{"builtin:" + scenarios.BuiltinTraces()[0] + "\n"}},
	}
	for _, tt := range tests {
		env, out, _ := testEnv(t)
		Main(tt.args, env)
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v completes\n%s\nwithout %q", tt.args, out, w)
			}
		}
	}
}

// noChecks is a short call that checks nothing.
const noChecks = `name: unchecked
duration: 3s
topology: p2p
participants:
  - name: alice
    publish: [audio]
  - name: bob
    publish: [audio]
`

// A run into a file or pipe: no carriage returns, no colour; --json puts
// one JSON document on stdout; a scenario without checks says so, and
// --require-checks fails it; --seed is what ran and what the report says.
func TestRunForPipesAndCI(t *testing.T) {
	file := filepath.Join(t.TempDir(), "unchecked.yaml")
	if err := os.WriteFile(file, []byte(noChecks), 0o644); err != nil {
		t.Fatal(err)
	}

	// rtclab run FILE > log.txt 2>&1: both streams into one real file.
	env, _, _ := testEnv(t)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "log.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	env.Stdout, env.Stderr = logFile, logFile
	dir := filepath.Join(t.TempDir(), "text")
	code := Main([]string{"run", file, "--out", dir}, env)
	logged, _ := os.ReadFile(logFile.Name())
	if code != ExitPass {
		t.Fatalf("exit %d\n%s", code, logged)
	}
	if strings.ContainsAny(string(logged), "\r\x1b") {
		t.Errorf("carriage return or escape in a log file:\n%q", logged)
	}
	verdict := ""
	for _, l := range strings.Split(string(logged), "\n") {
		if strings.HasPrefix(l, "PASS ") || strings.HasPrefix(l, "FAIL ") {
			verdict = l
			break
		}
	}
	if !strings.HasPrefix(verdict, "PASS unchecked") || !strings.Contains(verdict, "no checks") {
		t.Errorf("verdict line %q does not say the run checked nothing", verdict)
	}

	env, out, errb := testEnv(t)
	env.StopNote = new(atomic.Pointer[string])
	dir = filepath.Join(t.TempDir(), "json")
	code = Main([]string{"run", file, "--out", dir, "--json", "--require-checks", "--seed", "7", "-q"}, env)
	if code != ExitFail {
		t.Errorf("--require-checks on a scenario without checks: exit %d, want %d", code, ExitFail)
	}
	var sum runJSON
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if sum.Verdict != "fail" || len(sum.Scenarios) != 1 || sum.Scenarios[0].Expectations != 0 || sum.Scenarios[0].Seed != 7 {
		t.Errorf("summary %+v", sum)
	}
	if !strings.Contains(errb.String(), "unchecked declares no checks (no expect entries), and --require-checks is set") || strings.Contains(errb.String(), "running ") {
		t.Errorf("stderr with -q: %s", errb)
	}
	if n := env.StopNote.Load(); n == nil || *n != "writing the partial report" {
		t.Errorf("what Ctrl-C would do during a run: %v", n)
	}
	rep, err := reports.ReadJSON(sum.Scenarios[0].Report)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scenario.Seed != 7 || rep.ToolBuild == nil || rep.ToolBuild.Version == "" || !strings.HasPrefix(rep.Tool, "rtclab ") {
		t.Errorf("report: seed %d, tool %q, build %+v", rep.Scenario.Seed, rep.Tool, rep.ToolBuild)
	}
}

// --json over several scenarios is still one JSON document on stdout: the
// summary table is not printed.
func TestRunJSONSeveral(t *testing.T) {
	in := t.TempDir()
	for _, name := range []string{"one", "two"} {
		data := strings.Replace(noChecks, "name: unchecked", "name: "+name, 1)
		if err := os.WriteFile(filepath.Join(in, name+".yaml"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env, out, errb := testEnv(t)
	if code := Main([]string{"run", in, "--out", filepath.Join(t.TempDir(), "o"), "--json"}, env); code != ExitPass {
		t.Fatalf("exit %d\n%s", code, errb)
	}
	var sum runJSON
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if len(sum.Scenarios) != 2 || sum.Summary == "" || sum.Verdict != "pass" {
		t.Errorf("summary %+v", sum)
	}
	if _, err := os.Stat(sum.Summary); err != nil {
		t.Error(err)
	}
}

// matrix --json: one JSON document whose counts are those of the cells
// in matrix.json, counted again here.
func TestMatrixJSON(t *testing.T) {
	grid := filepath.Join(t.TempDir(), "grid.yaml")
	if err := os.WriteFile(grid, []byte("nats: [open, symmetric]\nice: [stun]\nduration: 2s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env, out, errb := testEnv(t)
	if code := Main([]string{"matrix", grid, "--out", filepath.Join(t.TempDir(), "m"), "--json", "-q"}, env); code != ExitPass {
		t.Fatalf("exit %d\n%s", code, errb)
	}
	if errb.Len() > 0 {
		t.Errorf("stderr with -q: %s", errb)
	}
	var sum matrixJSON
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	r, err := matrix.ReadJSON(sum.Result)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, c := range r.Cells {
		count[c.Status]++
	}
	if sum.Cells != 4 || len(r.Cells) != 4 || sum.Verdict != r.Verdict ||
		sum.Matched != count[matrix.StatusExpected] || sum.Deviations != count[matrix.StatusDeviation] ||
		sum.Unexpected != count[matrix.StatusUnexpected] || sum.Errors != count[matrix.StatusError] {
		t.Errorf("summary %+v, cells by status %v", sum, count)
	}
}

func TestBenchJSON(t *testing.T) {
	file := filepath.Join(t.TempDir(), "unchecked.yaml")
	if err := os.WriteFile(file, []byte(noChecks), 0o644); err != nil {
		t.Fatal(err)
	}
	env, out, errb := testEnv(t)
	if code := Main([]string{"bench", file, "--runs", "2", "--json"}, env); code != ExitPass {
		t.Fatalf("exit %d\n%s", code, errb)
	}
	var b benchJSON
	if err := json.Unmarshal(out.Bytes(), &b); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if len(b.Rows) != 1 || b.Rows[0].Scenario != "unchecked" || b.Rows[0].Runs != 2 || b.Rows[0].ScenarioSeconds != 3 ||
		b.Rows[0].WallMin <= 0 || b.Rows[0].WallMin > b.Rows[0].WallMean {
		t.Errorf("bench --json: %+v", b)
	}
}

// The default output folder that cannot be made is a usage error too.
func TestDefaultOutUnusable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := claimDefaultOut(filepath.Join(file, "rtclab-out"), "", time.Now(), "test")
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--out") {
		t.Errorf("err = %v, want a usage error naming --out", err)
	}
}
