package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
)

// compare's exit codes, the contract a CI gate relies on: 0 for a run
// against itself, 1 when a metric got worse (here: one stream's loss
// raised in a copy of the report), 2 for input it cannot read.
func TestCompareExitCodes(t *testing.T) {
	env, out, errb := testEnv(t)
	base := t.TempDir()
	if code := Main([]string{"run", "--out", base, "quickstart"}, env); code != ExitPass {
		t.Fatalf("run: exit %d\n%s", code, errb)
	}
	out.Reset()
	if code := Main([]string{"compare", base, filepath.Join(base, reports.JSONFile)}, env); code != ExitPass {
		t.Fatalf("a run against itself: exit %d\n%s%s", code, out, errb)
	}
	if !strings.HasPrefix(out.String(), "SAME ") {
		t.Errorf("a run against itself is not SAME:\n%s", out)
	}

	rep, err := reports.ReadJSON(filepath.Join(base, reports.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	rep.Streams[0].LossFraction += 0.05
	worse := filepath.Join(t.TempDir(), "worse.json")
	if err := reports.WriteJSON(worse, rep); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	page := filepath.Join(t.TempDir(), "compare.html")
	if code := Main([]string{"compare", "--html", page, base, worse}, env); code != ExitFail {
		t.Fatalf("worse loss: exit %d, want %d\n%s", code, ExitFail, out)
	}
	s := rep.Streams[0]
	if want := s.From + "->" + s.To + " " + s.Kind; !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "loss_fraction") {
		t.Errorf("worse loss: output does not name %s loss_fraction:\n%s", want, out)
	}
	if html, err := os.ReadFile(page); err != nil || !strings.Contains(string(html), "WORSE") {
		t.Errorf("--html: %v, page has no WORSE verdict", err)
	}

	for _, args := range [][]string{
		{"compare", base},
		{"compare", base, filepath.Join(t.TempDir(), "absent")},
		{"compare", base, t.TempDir()},
	} {
		errb.Reset()
		if code := Main(args, env); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb)
		}
	}
}
