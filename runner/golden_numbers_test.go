package runner

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/internal/golden"
)

// TestQuickstartNumbersGolden pins every number of the quickstart report
// (streams, participants, checks; SSRCs, which pion draws at random, left
// out). Issue #17 moved the per-packet logs the numbers come from into
// compact, spilled logs; the golden was made from the report.json of
// `rtclab run quickstart` on the build before (903b852), so the numbers
// are the same to the byte. A change to a metric shows here: accept it
// with -update.
func TestQuickstartNumbersGolden(t *testing.T) {
	rep, err := runVirtual(t, mustLoad(t, "quickstart"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	got, err := reportNumbers(b)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "golden", "quickstart-numbers.golden"), got)
}

// reportNumbers is the streams, participants and checks of a report.json,
// without SSRCs, as indented JSON with sorted keys.
func reportNumbers(reportJSON []byte) ([]byte, error) {
	var all map[string]any
	if err := json.Unmarshal(reportJSON, &all); err != nil {
		return nil, err
	}
	var drop func(v any) any
	drop = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if strings.Contains(strings.ToLower(k), "ssrc") {
					delete(x, k)
					continue
				}
				x[k] = drop(e)
			}
		case []any:
			for i, e := range x {
				x[i] = drop(e)
			}
		}
		return v
	}
	out := map[string]any{}
	for _, k := range []string{"streams", "participants", "checks"} {
		out[k] = drop(all[k])
	}
	b, err := json.MarshalIndent(out, "", " ")
	return append(b, '\n'), err
}
