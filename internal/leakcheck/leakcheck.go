package leakcheck

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Wait is how long Check lets goroutines finish closing before it reports
// them. pion closes some of its goroutines asynchronously (ICE gathering,
// TURN refreshes, DTLS and SCTP loops), and real sockets unblock readers
// only after Close returns.
const Wait = 10 * time.Second

// Check records the goroutines running now and, when t and its subtests
// have finished (t.Cleanup, so after the test's own deferred closes and
// any cleanup registered later), fails t if any other goroutine is
// still running after Wait.
func Check(t testing.TB) {
	t.Helper()
	check(t, Wait)
}

func check(t testing.TB, wait time.Duration) {
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		for goleak.Find(opts...) != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if err := goleak.Find(opts...); err != nil {
			t.Errorf("goroutines left running %s after the test: %v", wait, err)
		}
	})
}
