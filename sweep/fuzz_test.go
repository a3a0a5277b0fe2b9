package sweep

import (
	"strings"
	"testing"
)

// FuzzParseVary: any --vary text either fails with ErrVary or gives a path
// and 1..MaxValues non-empty values.
func FuzzParseVary(f *testing.F) {
	for _, s := range []string{
		"seed=1..5", "participants.bob.downlink.loss=0%..10%/1%", "x=0.1..0.4/0.1",
		"nat=open,symmetric", "x=1e308..1e309", "x=0..1/1e-300", "x=-5..-1/.5", "x=0..99999999999999999999999/1", "=", "a=..", "a=1..2/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, flag string) {
		a, err := ParseVary(flag)
		if err != nil {
			return
		}
		if a.Path == "" || len(a.Values) == 0 || len(a.Values) > MaxValues {
			t.Fatalf("%q: path %q, %d values", flag, a.Path, len(a.Values))
		}
		for _, v := range a.Values {
			if strings.TrimSpace(v) == "" {
				t.Fatalf("%q: an empty value in %q", flag, a.Values)
			}
		}
	})
}
