package analysis

import (
	"fmt"
	"math"
	"strconv"
)

// Verdict values. A check's verdict is one of the four; a run's is Pass
// or Fail.
const (
	Pass = "pass"
	Fail = "fail"
	// KnownFailure is a failed check that its scenario declares as
	// expected to fail (a weakness of the system under test with an
	// upstream issue): it is reported and does not fail the run.
	KnownFailure = "known-failure"
	// PassedUnexpectedly is a check declared as a known failure that
	// passed: it fails the run so that the declaration gets removed.
	PassedUnexpectedly = "passed-unexpectedly"
)

// Criterion values: whose bound a check applies.
const (
	// CriterionRFC is a bound a document gives (Check.Source cites the
	// section), e.g. RFC 8868 section 3's 0.333..3 for fairness.
	CriterionRFC = "rfc"
	// CriterionGuideline is a bound rtclab chose where the documents
	// give none (Check.Source says why).
	CriterionGuideline = "guideline"
)

// KnownIssue says why a check is expected to fail and where the cause
// is tracked upstream.
type KnownIssue struct {
	// Reason says what fails and why, in words.
	Reason string `json:"reason"`
	// Link points at the upstream issue, e.g.
	// "https://github.com/pion/interceptor/issues/299".
	Link string `json:"link"`
}

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
	// Verdict is "pass", "fail", "known-failure" or
	// "passed-unexpectedly".
	Verdict string `json:"verdict"`
	// Reason explains a failure in words (empty on pass).
	Reason string `json:"reason,omitempty"`
	// Criterion is "rfc" when a document gives the bound, "guideline"
	// when rtclab chose it; empty when the scenario does not say.
	Criterion string `json:"criterion,omitempty"`
	// Source cites the section the bound comes from ("rfc") or gives
	// rtclab's reason for it ("guideline").
	Source string `json:"source,omitempty"`
	// Known is set when the scenario declares the check as a known
	// failure.
	Known *KnownIssue `json:"known_failure,omitempty"`
}

// Failed reports whether the check counts against the run: a failure or
// a known failure that passed.
func (c Check) Failed() bool { return c.Verdict == Fail || c.Verdict == PassedUnexpectedly }

// Declare records where the check's bound comes from and, when known is
// not nil, that the check is expected to fail: a failure then becomes
// KnownFailure, a pass PassedUnexpectedly.
func (c Check) Declare(criterion, source string, known *KnownIssue) Check {
	c.Criterion, c.Source, c.Known = criterion, source, known
	if known == nil {
		return c
	}
	switch c.Verdict {
	case Fail:
		c.Verdict = KnownFailure
		c.Reason = "known failure (" + known.Link + "): " + c.Reason
	case Pass:
		c.Verdict = PassedUnexpectedly
		c.Reason = "declared a known failure (" + known.Link + ") but passed: remove the declaration"
	}
	return c
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

// OverallVerdict is "pass" when no check failed (known failures do not
// count), else "fail". A run with no checks passes.
func OverallVerdict(checks []Check) string {
	for _, c := range checks {
		if c.Failed() {
			return Fail
		}
	}
	return Pass
}

func fmtNum(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}
