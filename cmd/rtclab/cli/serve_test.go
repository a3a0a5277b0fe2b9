package cli

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
)

func TestServeBadInput(t *testing.T) {
	// Flags StartServer refuses are checked after the history opens: keep
	// it out of the home directory.
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("RTCLAB_ADMIN_TOKEN", "")
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--ip is required"},
		{[]string{"serve", "--ip", "nope"}, "want an IPv4 address"},
		{[]string{"serve", "--ip", "127.0.0.1", "--alt-ip", "127.0.0.1"}, "want a second IPv4 address"},
		{[]string{"serve", "--ip", "127.0.0.1", "--cert", "x"}, "go together"},
		{[]string{"serve", "--ip", "127.0.0.1", "--cert", "/nonexistent", "--key", "/nonexistent"}, "--cert/--key"},
		{[]string{"serve", "--ip", "127.0.0.1", "extra"}, "takes no arguments"},
		{[]string{"serve", "--turn-port", "x"}, "invalid argument"},
		{[]string{"serve", "--ip", "127.0.0.1", "--turn-quota", "-1"}, "want 0 or more"},
		{[]string{"serve", "--ip", "127.0.0.1", "--http-rate", "-2"}, "want 0 or more"},
		{[]string{"serve", "--ip", "127.0.0.1", "--read-timeout", "-1s"}, "want 0 or more"},
		{[]string{"serve", "--ip", "127.0.0.1", "--retention", "3 months"}, "--retention \"3 months\": want a duration such as 90d"},
		{[]string{"serve", "--ip", "127.0.0.1", "--admin-token", "short"}, "--admin-token: want at least 16 characters"},
		{[]string{"serve", "--ip", "127.0.0.1", "--webhook", "ftp://hooks.example"}, "--webhook \"ftp://hooks.example\": want an http:// or https:// URL"},
		{[]string{"serve", "--ip", "127.0.0.1", "--db", "postgres://rtclab:secret@127.0.0.1:1/rtclab"}, "--db postgres://rtclab:xxxxx@127.0.0.1:1/rtclab: "},
		{[]string{"serve", "--ip", "127.0.0.1", "--db", "/proc/rtclab/history.db"}, "--db /proc/rtclab/history.db"},
		{[]string{"serve", "--ip", "127.0.0.1", "--db", "none", "--webhook", "http://127.0.0.1:9"}, "need a history"},
		{[]string{"serve", "--ip", "127.0.0.1", "--db", dir + "/h.db", "--result-rate", "-1"}, "--result-rate -1: want 0 or more"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(tt.args, Env{Stdout: &out, Stderr: &errb, Interrupt: new(atomic.Bool)})
			if code != ExitUsage || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errb.String(), ExitUsage, tt.want)
			}
		})
	}
}
