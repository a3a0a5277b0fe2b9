package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// verify recounts a run made with --pcap: it prints the report against
// the recount stream by stream and ends with a verdict; on today's build
// packets_sent is known to disagree (issue #10 item 6), so the exit code
// is 1. Bad input exits 2 and says what is missing.
func TestVerifyRecountsARun(t *testing.T) {
	env, out, errb := testEnv(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "pcap")
	if code := Main([]string{"run", "--out", dir, "--pcap", pcap, "quickstart"}, env); code != ExitPass {
		t.Fatalf("run: exit %d\n%s", code, errb)
	}
	out.Reset()
	code := Main([]string{"verify", "--tshark", "-", dir}, env)
	text := out.String()
	for _, want := range []string{"alice->bob audio", "packets_received", "jitter_ms", "bitrate_kbps"} {
		if !strings.Contains(text, want) {
			t.Errorf("verify output lacks %q:\n%s", want, text)
		}
	}
	last := strings.TrimSpace(text[strings.LastIndex(strings.TrimSpace(text), "\n")+1:])
	switch {
	case code == ExitPass && strings.HasPrefix(last, "AGREE"):
	case code == ExitFail && strings.HasPrefix(last, "DISAGREE"):
	default:
		t.Errorf("exit %d with verdict line %q", code, last)
	}
	// The audio stream to bob has no retransmissions: its received count
	// is exact and must agree.
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "alice->bob audio") && strings.Contains(line, "packets_received") && !strings.Contains(line, " agree ") {
			t.Errorf("exact audio count disagrees: %s", line)
		}
	}
}

func TestVerifyBadInput(t *testing.T) {
	env, _, errb := testEnv(t)
	empty := t.TempDir()
	if code := Main([]string{"verify", empty}, env); code != ExitUsage || !strings.Contains(errb.String(), "report.json") {
		t.Errorf("no report: exit %d, stderr %q", code, errb)
	}
	// A report without its captures.
	dir := t.TempDir()
	if code := Main([]string{"run", "--out", dir, "quickstart"}, env); code != ExitPass {
		t.Fatalf("run: exit %d", code)
	}
	errb.Reset()
	if code := Main([]string{"verify", dir}, env); code != ExitUsage || !strings.Contains(errb.String(), "--pcap") {
		t.Errorf("no captures: exit %d, stderr %q", code, errb)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err != nil {
		t.Fatal(err)
	}
}

// tshark is a second opinion: when it fails on a capture (killed, out of
// time: it ran out of its two minutes on the 1 GB SFU capture of a 32 min
// call on a loaded machine), verify still prints the recount and its
// verdict, and says where tshark failed. The old build printed nothing
// after 16 minutes of recounting and exited 1, "disagree".
func TestVerifyTsharkFailureKeepsTheRecount(t *testing.T) {
	env, out, errb := testEnv(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "pcap")
	if code := Main([]string{"run", "--out", dir, "--pcap", pcap, "quickstart"}, env); code != ExitPass {
		t.Fatalf("run: exit %d\n%s", code, errb)
	}
	stub := filepath.Join(t.TempDir(), "tshark")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\necho 'tshark: killed' >&2\nexit 137\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	code := Main([]string{"verify", "--tshark", stub, dir}, env)
	text := out.String()
	if code != ExitPass || !strings.Contains(text, "AGREE") {
		t.Fatalf("exit %d, stderr %q, want the recount's verdict (AGREE, exit 0):\n%s", code, errb, text)
	}
	if !strings.Contains(text, "failed on") || !strings.Contains(text, "alice.pcap") {
		t.Errorf("the output does not say tshark failed on the captures:\n%s", text)
	}
}
