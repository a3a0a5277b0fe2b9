package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rtclab/rtclab/bubble"
	"github.com/rtclab/rtclab/reports"

	"github.com/rtclab/rtclab/internal/realpeer"
)

func testEnv(t *testing.T) (Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return Env{
		Stdout:    &out,
		Stderr:    &errb,
		Interrupt: new(atomic.Bool),
		Bubble:    func(f func()) { bubble.Run(t, f) },
	}, &out, &errb
}

func TestRunQuickstartWritesReport(t *testing.T) {
	env, out, errb := testEnv(t)
	dir := t.TempDir()
	code := Main([]string{"run", "--out", dir}, env)
	if code != ExitPass {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	if !strings.HasPrefix(out.String(), "PASS quickstart") {
		t.Errorf("stdout does not lead with the verdict:\n%s", out)
	}
	for _, f := range []string{"report.json", "report.html", "junit.xml", "events.jsonl", "bitrate.png", "loss.png", "rtt.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	rep, err := reports.ReadJSON(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Wall time is recorded, not judged: how fast a run is belongs to
	// rtclab bench, not to a timed assertion.
	if rep.Schema != reports.Schema || rep.Scenario.Clock != "virtual" || rep.WallSeconds <= 0 {
		t.Errorf("schema %q clock %q wall %v", rep.Schema, rep.Scenario.Clock, rep.WallSeconds)
	}
}

func TestRunInterruptedWritesPartialReport(t *testing.T) {
	env, out, _ := testEnv(t)
	env.Interrupt.Store(true)
	dir := t.TempDir()
	if code := Main([]string{"run", "--out", dir}, env); code != ExitFail {
		t.Fatalf("exit %d, want %d", code, ExitFail)
	}
	rep, err := reports.ReadJSON(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Partial || !strings.Contains(out.String(), "PARTIAL") {
		t.Errorf("partial %v; stdout:\n%s", rep.Partial, out)
	}
}

func TestBadInputExits2WithoutRunning(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nduration: 5s\nparticipants:\n  - name: a\n    nat: cone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"run", "nope.yaml"}, "nope.yaml: no such file"},
		{"bad nat", []string{"run", bad}, "bad.yaml:5: participants[0].nat: unknown NAT \"cone\""},
		{"bad clock", []string{"run", "--clock", "sundial"}, "--clock \"sundial\": allowed values are virtual, real"},
		{"bad flag", []string{"run", "--frobnicate"}, "unknown flag: --frobnicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, out, errb := testEnv(t)
			dir := filepath.Join(t.TempDir(), "out")
			code := Main(append(tt.args, "--out", dir), env)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty: %q", out)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("an output directory was made for unusable input")
			}
		})
	}
}

func TestBench(t *testing.T) {
	env, out, errb := testEnv(t)
	if code := Main([]string{"bench", "quickstart", "--runs", "1"}, env); code != ExitPass {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(out.String(), "quickstart") || !strings.Contains(out.String(), "speed-up") {
		t.Errorf("output:\n%s", out)
	}
	env, _, _ = testEnv(t)
	if code := Main([]string{"bench", "--runs", "0"}, env); code != ExitUsage {
		t.Errorf("--runs 0: exit %d, want %d", code, ExitUsage)
	}
}

func TestNetemCheck(t *testing.T) {
	env, out, errb := testEnv(t)
	if code := Main([]string{"netem", "check"}, env); code != ExitPass {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	if !strings.Contains(out.String(), "quantities within tolerance") || strings.Contains(out.String(), "OUT") {
		t.Errorf("output:\n%s", out)
	}
}

// --quality decodes the received video with ffmpeg after the bubble and
// writes PSNR and SSIM into the report.
func TestRunQuality(t *testing.T) {
	realpeer.Binary(t, "ffmpeg")
	realpeer.Binary(t, "ffprobe")
	env, out, errb := testEnv(t)
	dir := t.TempDir()
	if code := Main([]string{"run", "nack-repair", "--quality", "--out", dir}, env); code != ExitPass {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	rep, err := reports.ReadJSON(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	measured := 0
	for _, s := range rep.Streams {
		if s.Video != nil && s.Video.PSNRDB != nil {
			measured++
			if *s.Video.PSNRDB < 20 || s.Video.SSIM == nil || *s.Video.SSIM <= 0.5 {
				t.Errorf("%s->%s: PSNR %v SSIM %v", s.From, s.To, *s.Video.PSNRDB, s.Video.SSIM)
			}
		}
	}
	if measured == 0 {
		t.Errorf("no stream got PSNR/SSIM; stderr:\n%s", errb)
	}
}

// TestRunRTPLog runs a short flows scenario with --log: the RFC 8868
// section 3.1 packet logs of its video and audio flow land in the
// directory given, and the run passes.
func TestRunRTPLog(t *testing.T) {
	env, out, errb := testEnv(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "f.yaml")
	yaml := "name: f\ntopology: flows\nduration: 5s\nparticipants:\n  - {name: a, uplink: {rate: 1Mbps}}\n  - {name: b, downlink: {delay: 20ms}}\nflows:\n  - {name: v, kind: media, from: a, to: b}\n  - {name: s, kind: audio, from: a, to: b}\nexpect:\n  - {metric: packets_received, flow: s, min: 200}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(dir, "log")
	if code := Main([]string{"run", file, "--out", filepath.Join(dir, "out"), "--log", logDir}, env); code != ExitPass {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errb)
	}
	for _, f := range []string{"v.send.tsv", "v.recv.tsv", "s.send.tsv", "s.recv.tsv"} {
		b, err := os.ReadFile(filepath.Join(logDir, f))
		if err != nil || strings.Count(string(b), "\n") < 100 {
			t.Errorf("%s: %v, %d lines", f, err, strings.Count(string(b), "\n"))
		}
	}
}
