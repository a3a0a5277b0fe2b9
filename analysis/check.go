package analysis

import (
	"fmt"
	"math"
	"strconv"
)

// Verdict values.
const (
	Pass = "pass"
	Fail = "fail"
)

// Bound is a closed range a measured value must fall in. A nil end is open.
type Bound struct {
	Min *float64
	Max *float64
}

// String renders the bound the way reports show it: ">= 0.01", "<= 3000",
// "0.01 .. 0.06", or "== 1" when both ends are equal.
func (b Bound) String() string {
	switch {
	case b.Min != nil && b.Max != nil && *b.Min == *b.Max:
		return "== " + fmtNum(*b.Min)
	case b.Min != nil && b.Max != nil:
		return fmtNum(*b.Min) + " .. " + fmtNum(*b.Max)
	case b.Min != nil:
		return ">= " + fmtNum(*b.Min)
	case b.Max != nil:
		return "<= " + fmtNum(*b.Max)
	}
	return "any"
}

// Holds reports whether v lies within the bound. NaN never holds.
func (b Bound) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	if b.Min != nil && v < *b.Min {
		return false
	}
	if b.Max != nil && v > *b.Max {
		return false
	}
	return true
}

// Check is one expectation evaluated against a measured value.
type Check struct {
	// Name says what was checked, e.g. "bob loss_fraction (alice->bob video)".
	Name string `json:"name"`
	// Value is the measured value; null when it could not be measured.
	Value *float64 `json:"value"`
	// Threshold is the allowed range as text, e.g. "0.01 .. 0.06".
	Threshold string `json:"threshold"`
	// Verdict is "pass" or "fail".
	Verdict string `json:"verdict"`
	// Reason explains a failure in words (empty on pass).
	Reason string `json:"reason,omitempty"`
}

// Evaluate builds a Check from a name, a measured value and a bound.
// A NaN value fails with the reason "not measured".
func Evaluate(name string, v float64, b Bound) Check {
	c := Check{Name: name, Threshold: b.String(), Verdict: Pass}
	if math.IsNaN(v) {
		c.Verdict = Fail
		c.Reason = "not measured"
		return c
	}
	c.Value = &v
	if !b.Holds(v) {
		c.Verdict = Fail
		c.Reason = fmt.Sprintf("measured %s, allowed %s", fmtNum(v), b.String())
	}
	return c
}

// OverallVerdict is "pass" when every check passes, else "fail".
// A run with no checks passes.
func OverallVerdict(checks []Check) string {
	for _, c := range checks {
		if c.Verdict != Pass {
			return Fail
		}
	}
	return Pass
}

func fmtNum(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}
