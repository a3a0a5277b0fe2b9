package scenarios

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/rtclab/rtclab/analysis"
)

// KnownFailure declares a check as expected to fail: the reason in
// words and the upstream issue that tracks it. Such a check does not fail
// the run while it fails, and fails the run once it passes (so that the
// declaration is removed).
type KnownFailure struct {
	// Reason says what fails and why.
	Reason string `yaml:"reason"`
	// Link is the upstream issue, an http(s) URL.
	Link string `yaml:"link"`
}

// Criterion values an expectation may declare (see analysis.CriterionRFC).
var criteria = map[string]bool{analysis.CriterionRFC: true, analysis.CriterionGuideline: true}

// validateCriterion checks an expectation's criterion, source and
// known_failure; at gives the path of expect[i].
func (e *Expectation) validateCriterion(bad func(msg string, path ...any), at func(rest ...any) []any) {
	if e.Criterion != "" && !criteria[e.Criterion] {
		bad(fmt.Sprintf("unknown criterion %q (allowed: rfc, when a document gives the bound; guideline, when rtclab chose it)", e.Criterion), at("criterion")...)
	}
	if e.Criterion != "" && strings.TrimSpace(e.Source) == "" {
		what := "the section the bound comes from, e.g. \"RFC 8868 section 3 item 7\""
		if e.Criterion == analysis.CriterionGuideline {
			what = "why rtclab chose this bound"
		}
		bad("criterion "+e.Criterion+" needs source: "+what, at("criterion")...)
	}
	if k := e.KnownFailure; k != nil {
		if strings.TrimSpace(k.Reason) == "" {
			bad("known_failure needs reason: what fails and why", at("known_failure")...)
		}
		if u, err := url.Parse(k.Link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(fmt.Sprintf("known_failure link %q: give the upstream issue as an http(s) URL", k.Link), at("known_failure", "link")...)
		}
	}
}

// declare marks the checks of each expectation with its criterion and
// known failure: checks[starts[i]:starts[i+1]] came from Expect[i].
func (s *Scenario) Declare(checks []analysis.Check, starts []int) []analysis.Check {
	for i, from := range starts {
		to := len(checks)
		if i+1 < len(starts) {
			to = starts[i+1]
		}
		e := s.Expect[i]
		var known *analysis.KnownIssue
		if e.KnownFailure != nil {
			known = &analysis.KnownIssue{Reason: strings.TrimSpace(e.KnownFailure.Reason), Link: e.KnownFailure.Link}
		}
		for j := from; j < to; j++ {
			checks[j] = checks[j].Declare(e.Criterion, strings.TrimSpace(e.Source), known)
		}
	}
	return checks
}
