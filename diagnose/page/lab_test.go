package page_test

import (
	"net/http"
	"testing"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/internal/realpeer/loopns"
)

// lab is what a page test runs in: a loopback-only namespace of its own
// (so Chromium can neither gather nor reach the machine's addresses),
// serve and the browser inside it, and a client for the test's own
// requests that dials from inside it.
type lab struct {
	ns      *loopns.NS
	client  *http.Client
	browser realpeer.Chromium
}

// newLab makes the namespace and starts Chromium in it with flags; all of
// it is stopped by PID and the namespace deleted in t's cleanup.
func newLab(t *testing.T, flags ...string) *lab {
	t.Helper()
	ns := loopns.New(t)
	return &lab{ns: ns, client: ns.Client(), browser: ns.Chromium(t, flags...)}
}
