package netem

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseTrace feeds arbitrary bytes to the mahimahi trace parser. It
// must never panic; an error wraps ErrTrace and names the trace; an
// accepted trace holds one delivery opportunity per non-blank line, in
// order, never decreasing, with a period of at least 1 ms.
func FuzzParseTrace(f *testing.F) {
	for _, seed := range []string{"0\n", "1\n1\n2\n5\n", "12\n\n 13 \n", "3\n2\n", "-1\n", "x\n", "", "9223372036854775807\n"} {
		f.Add([]byte(seed))
	}
	// The traces rtclab ships (testdata/traces at the module root).
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "traces", "*.mahi"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseTrace("fuzz.mahi", bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrTrace) || !strings.Contains(err.Error(), "fuzz.mahi") {
				t.Fatalf("error %q: does not wrap ErrTrace or name the trace", err)
			}
			return
		}
		// Independent count: the non-blank lines of the input.
		lines := 0
		for _, l := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
		if len(tr.opps) != lines {
			t.Fatalf("%d opportunities from %d non-blank lines", len(tr.opps), lines)
		}
		for i := 1; i < len(tr.opps); i++ {
			if tr.opps[i] < tr.opps[i-1] || tr.opps[i-1] < 0 {
				t.Fatalf("opportunities out of order at %d: %v", i, tr.opps[i-1:i+1])
			}
		}
		if tr.period < 1 || tr.period < tr.opps[len(tr.opps)-1] {
			t.Fatalf("period %d, last opportunity %d", tr.period, tr.opps[len(tr.opps)-1])
		}
	})
}
