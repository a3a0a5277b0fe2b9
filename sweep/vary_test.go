package sweep

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseVary(t *testing.T) {
	for _, tc := range []struct {
		flag string
		path string
		want []string
		err  string // substring of the error; "" means none
	}{
		{"seed=1..5", "seed", []string{"1", "2", "3", "4", "5"}, ""},
		{"seed=1,3,7", "seed", []string{"1", "3", "7"}, ""},
		{"participants.bob.downlink.loss=0%..10%/1%", "participants.bob.downlink.loss",
			[]string{"0%", "1%", "2%", "3%", "4%", "5%", "6%", "7%", "8%", "9%", "10%"}, ""},
		// A unit written once applies to every bound.
		{"participants.bob.downlink.loss=0..1%/0.5", "participants.bob.downlink.loss", []string{"0%", "0.5%", "1%"}, ""},
		// Decimal steps do not accumulate binary rounding (0.30000000000000004).
		{"x=0.1..0.4/0.1", "x", []string{"0.1", "0.2", "0.3", "0.4"}, ""},
		{"x=20ms..100ms/40ms", "x", []string{"20ms", "60ms", "100ms"}, ""},
		// The end is included only when it is on the grid.
		{"x=0..10/3", "x", []string{"0", "3", "6", "9"}, ""},
		{"x=5..5", "x", []string{"5"}, ""},
		{"nat=open, symmetric", "nat", []string{"open", "symmetric"}, ""},
		{" seed = 2 ", "seed", []string{"2"}, ""},

		{"seed", "", nil, "want PATH=VALUES"},
		{"=1,2", "", nil, "want PATH=VALUES"},
		{"seed=", "", nil, "want PATH=VALUES"},
		{"participants..loss=1%", "", nil, "empty segment"},
		{"seed=1,,2", "", nil, "empty value"},
		{"x=0ms..10%/1%", "", nil, "mixes units"},
		{"x=0..10s/1ms", "", nil, "mixes units"},
		{"x=10..0", "", nil, "end is below the start"},
		{"x=0..10/0", "", nil, "step must be above 0"},
		{"x=0..10/-1", "", nil, "step must be above 0"},
		{"x=a..b", "", nil, "range start"},
		{"x=0..1000000", "", nil, "at most 1000"},
		{"x=0..99999999999999999999999/1", "", nil, "at most 1000"}, // no int overflow
	} {
		a, err := ParseVary(tc.flag)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseVary(%q) = %v, %v; want error containing %q", tc.flag, a.Values, err, tc.err)
				continue
			}
			// Every error names the flag as given, for exit code 2.
			if !errors.Is(err, ErrVary) || !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("ParseVary(%q) error %q does not name the flag or wrap ErrVary", tc.flag, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseVary(%q): %v", tc.flag, err)
			continue
		}
		if a.Path != tc.path || !slices.Equal(a.Values, tc.want) {
			t.Errorf("ParseVary(%q) = %s %v, want %s %v", tc.flag, a.Path, a.Values, tc.path, tc.want)
		}
	}
}
