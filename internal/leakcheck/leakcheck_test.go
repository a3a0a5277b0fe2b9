package leakcheck

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeT collects Check's cleanup and its verdict instead of failing.
type fakeT struct {
	testing.TB
	cleanup func()
	errs    []string
}

func (f *fakeT) Helper()                   {}
func (f *fakeT) Cleanup(fn func())         { f.cleanup = fn }
func (f *fakeT) Errorf(s string, a ...any) { f.errs = append(f.errs, fmt.Sprintf(s, a...)) }

func TestCheckFindsLeak(t *testing.T) {
	f := &fakeT{TB: t}
	check(f, 200*time.Millisecond)
	stop := make(chan struct{})
	go leaky(stop)
	f.cleanup()
	close(stop)
	if len(f.errs) != 1 || !strings.Contains(f.errs[0], "leaky") {
		t.Errorf("leak not reported with its stack: %q", f.errs)
	}
}

func TestCheckWaitsForClosingGoroutine(t *testing.T) {
	f := &fakeT{TB: t}
	Check(f)
	stop := make(chan struct{})
	go leaky(stop)
	go close(stop) // the goroutine is on its way out
	f.cleanup()
	if len(f.errs) != 0 {
		t.Errorf("reported a goroutine that ended: %q", f.errs)
	}
}

func leaky(stop chan struct{}) { <-stop }
