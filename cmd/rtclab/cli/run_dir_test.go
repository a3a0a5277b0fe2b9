package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

const smallFlows = `name: NAME
topology: flows
duration: 10s
participants:
  - name: a
    uplink: {rate: 1Mbps, queue: 100ms}
  - name: b
    downlink: {delay: 10ms}
flows:
  - {name: v, kind: media, from: a, to: b}
expect:
  - {metric: residual_loss_fraction, max: 0.05}
`

func TestRunDirectoryWritesSummary(t *testing.T) {
	in := t.TempDir()
	for _, n := range []string{"one", "two"} {
		if err := os.WriteFile(filepath.Join(in, n+".yaml"), []byte(strings.Replace(smallFlows, "NAME", n, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(in, "notes.txt"), []byte("not a scenario"), 0o644); err != nil {
		t.Fatal(err)
	}
	env, out, errb := testEnv(t)
	dir := t.TempDir()
	if code := Main([]string{"run", in + "/", "--out", dir}, env); code != ExitPass {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	for _, f := range []string{"summary.json", "index.html", "one/report.html", "two/bwe-send.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(out.String(), "Summary: 2 of 2 scenarios passed") || !strings.Contains(out.String(), "Bottleneck links (RFC 8868)") {
		t.Errorf("stdout:\n%s", out)
	}
	if _, err := reports.ReadJSON(filepath.Join(dir, "one", "report.json")); err != nil {
		t.Error(err)
	}
}

func TestRunDirectoryWrongInput(t *testing.T) {
	empty := t.TempDir()
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "x.yaml"), []byte(strings.Replace(smallFlows, "kind: media", "kind: video", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arg, want string
	}{
		{empty, "a directory without scenario files (*.yaml)"},
		{bad, `x.yaml:10: flows[0].kind: unknown kind "video" (allowed: media, audio, cbr, tcp)`},
		{"rfc8867/5.9", "rfc8867/5.9: no such file"},
	} {
		env, out, errb := testEnv(t)
		if code := Main([]string{"run", tc.arg, "--out", t.TempDir()}, env); code != ExitUsage {
			t.Errorf("%s: exit %d, want %d\n%s", tc.arg, code, ExitUsage, out)
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: stderr lacks %q:\n%s", tc.arg, tc.want, errb)
		}
	}
}

// A folder named like a built-in that holds no scenario (an earlier run's
// --out quickstart) does not hide the built-in; one with scenarios is
// still read as a folder.
func TestFolderNamedLikeBuiltin(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("quickstart", 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := expandArg("quickstart")
	if err != nil || len(got) != 1 || got[0] != "quickstart" {
		t.Fatalf("expandArg(quickstart) = %v, %v; want the built-in", got, err)
	}
	s, err := scenarios.Load("quickstart")
	if err != nil || s.File != "embedded:quickstart.yaml" {
		t.Fatalf("Load(quickstart) beside a folder of that name: %v, %v", s, err)
	}
	if err := os.WriteFile(filepath.Join("quickstart", "mine.yaml"), []byte(smallFlows), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := expandArg("quickstart"); err != nil || len(got) != 1 || got[0] != filepath.Join("quickstart", "mine.yaml") {
		t.Errorf("a folder with a scenario: expandArg = %v, %v", got, err)
	}
}
