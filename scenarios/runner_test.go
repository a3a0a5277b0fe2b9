package scenarios

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"

	"github.com/rtclab/rtclab/reports"
)

// runVirtual runs a scenario inside a synctest bubble and returns its report.
func runVirtual(t *testing.T, s *Scenario) *reports.Report {
	t.Helper()
	var rep *reports.Report
	var err error
	synctest.Test(t, func(t *testing.T) {
		rep, err = Run(context.Background(), s, RunOptions{Clock: ClockVirtual})
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

func TestQuickstartSmoke(t *testing.T) {
	s, err := Load("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	rep := runVirtual(t, s)
	b, _ := json.MarshalIndent(struct {
		V string
		P any
		S any
		C any
		W float64
	}{rep.Verdict, rep.Participants, rep.Streams, rep.Checks, rep.WallSeconds}, "", " ")
	t.Logf("%s", b)
}
