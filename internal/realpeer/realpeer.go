package realpeer

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns a missing peer from a
// skip into a failure when set to "1".
const RequireEnv = "RTCLAB_REQUIRE_PEERS"

// Required reports whether the test command asked for every real peer.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Binary returns the path of the named executable. When it is not on PATH
// the test is skipped, or fails when Required.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, fmt.Sprintf("%s is not installed (make deps installs it)", name))
	}
	return p
}

// Unavailable skips t because of why, or fails it when Required.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (%s=1)", why, RequireEnv)
		return
	}
	t.Skip(why)
}
