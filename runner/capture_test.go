package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/realpeer"
)

// A run's packet captures open in tshark and show every protocol of the
// call: STUN, DTLS, RTP and RTCP.
func TestCapturesOpenInTshark(t *testing.T) {
	tshark := realpeer.Binary(t, "tshark")
	dir := t.TempDir()
	s := mustLoad(t, "quickstart")
	s.Duration.Duration = 3 * time.Second
	if _, err := runVirtual(t, s, Options{CaptureDir: dir}); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"alice", "bob", "sfu", "turn"} {
		if _, err := os.Stat(filepath.Join(dir, host+".pcap")); err != nil {
			t.Errorf("no capture for %s: %v", host, err)
		}
	}
	out, err := exec.Command(tshark, "-r", filepath.Join(dir, "bob.pcap"), "-o", "rtp.heuristic_rtp:TRUE",
		"-T", "fields", "-e", "frame.protocols").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	seen := map[string]int{}
	for _, line := range strings.Split(string(out), "\n") {
		for _, proto := range strings.Split(line, ":") {
			seen[proto]++
		}
	}
	for _, want := range []string{"stun", "dtls", "rtp", "rtcp"} {
		if seen[want] == 0 {
			t.Errorf("tshark saw no %s in bob.pcap (protocols: %v)", want, seen)
		}
	}
}

// The DTLS key log next to the captures lets tshark decrypt DTLS: the
// encrypted Finished handshake messages (type 20) become readable.
func TestKeyLogDecryptsDTLS(t *testing.T) {
	tshark := realpeer.Binary(t, "tshark")
	dir := t.TempDir()
	s := mustLoad(t, "quickstart")
	s.Duration.Duration = 2 * time.Second
	if _, err := runVirtual(t, s, Options{CaptureDir: dir}); err != nil {
		t.Fatal(err)
	}
	finished := func(extra ...string) int {
		args := append([]string{"-r", filepath.Join(dir, "bob.pcap"), "-Y", "dtls.handshake.type == 20"}, extra...)
		out, err := exec.Command(tshark, args...).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		return strings.Count(string(out), "\n")
	}
	without := finished()
	with := finished("-o", "tls.keylog_file:"+filepath.Join(dir, KeyLogFile))
	if with <= without {
		t.Errorf("Finished messages seen: %d with the key log, %d without; the key log decrypts nothing", with, without)
	}
}
