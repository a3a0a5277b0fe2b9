package analysis

import (
	"math"
	"testing"
)

func TestBound(t *testing.T) {
	one, two := 1.0, 2.0
	tests := []struct {
		b    Bound
		v    float64
		want bool
		text string
	}{
		{Bound{Min: &one}, 1, true, ">= 1"},
		{Bound{Min: &one}, 0.999, false, ">= 1"},
		{Bound{Max: &two}, 2, true, "<= 2"},
		{Bound{Min: &one, Max: &two}, 2.5, false, "1 .. 2"},
		{Bound{Min: &one, Max: &one}, 1, true, "== 1"},
		{Bound{}, 7, true, "any"},
		{Bound{}, math.NaN(), false, "any"},
	}
	for _, tt := range tests {
		if got := tt.b.Holds(tt.v); got != tt.want {
			t.Errorf("%s holds %v = %v", tt.b, tt.v, got)
		}
		if tt.b.String() != tt.text {
			t.Errorf("String = %q, want %q", tt.b.String(), tt.text)
		}
	}
}

func TestEvaluateNotMeasured(t *testing.T) {
	one := 1.0
	c := Evaluate("x", math.NaN(), Bound{Min: &one})
	if c.Verdict != Fail || c.Value != nil || c.Reason != "not measured" {
		t.Errorf("%+v", c)
	}
	if OverallVerdict(nil) != Pass {
		t.Error("no checks should pass")
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for p, want := range map[float64]float64{0: 1, 25: 2, 50: 3, 100: 5, 90: 4.6} {
		if got := Percentile(xs, p); math.Abs(got-want) > 1e-9 {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if !math.IsNaN(Percentile(nil, 50)) || !math.IsNaN(Mean(nil)) {
		t.Error("empty input should give NaN")
	}
}

func TestDeclare(t *testing.T) {
	one := 1.0
	issue := &KnownIssue{Reason: "estimate grows", Link: "https://github.com/pion/interceptor/issues/299"}
	tests := []struct {
		name    string
		v       float64
		known   *KnownIssue
		verdict string
		run     string
	}{
		{"pass", 2, nil, Pass, Pass},
		{"fail", 0.5, nil, Fail, Fail},
		{"known failure fails", 0.5, issue, KnownFailure, Pass},
		{"known failure passes", 2, issue, PassedUnexpectedly, Fail},
		{"known failure not measured", math.NaN(), issue, KnownFailure, Pass},
	}
	for _, tt := range tests {
		c := Evaluate("x", tt.v, Bound{Min: &one}).Declare(CriterionGuideline, "why", tt.known)
		if c.Verdict != tt.verdict || c.Criterion != CriterionGuideline || c.Source != "why" || c.Known != tt.known {
			t.Errorf("%s: %+v", tt.name, c)
		}
		if got := OverallVerdict([]Check{c}); got != tt.run {
			t.Errorf("%s: run verdict %s, want %s", tt.name, got, tt.run)
		}
	}
}
