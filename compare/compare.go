package compare

import (
	"fmt"
	"math"

	"github.com/rtclab/rtclab/reports"
)

// Verdicts of a Change.
const (
	VerdictWorse   = "worse"
	VerdictBetter  = "better"
	VerdictChanged = "changed"
	VerdictMissing = "missing" // measured in OLD, not in NEW: counts as worse
	VerdictNew     = "new"     // measured in NEW only
)

// Noise models (see the package documentation).
const (
	Exact       = "exact"
	Statistical = "statistical"
)

// Change is one metric that moved beyond its noise.
type Change struct {
	Subject string `json:"subject"`
	Metric  string `json:"metric"`
	Unit    string `json:"unit,omitempty"`
	// Old and New are the two values; nil when not measured.
	Old *float64 `json:"old"`
	New *float64 `json:"new"`
	// Noise is the largest change the noise model allows (0 when exact).
	Noise   float64 `json:"noise"`
	Verdict string  `json:"verdict"`
}

// Scenario is the comparison of one scenario's two reports.
type Scenario struct {
	Name string `json:"name"`
	// Noise is the model used: "exact" or "statistical", and Why says why
	// (e.g. "same seed 1, virtual clock").
	Noise string `json:"noise"`
	Why   string `json:"why"`
	// Compared counts the quantities measured on both sides.
	Compared int `json:"compared"`
	// Changes are the quantities that moved beyond noise, in report order.
	Changes []Change `json:"changes"`
	// OldVerdict and NewVerdict are the reports' verdicts.
	OldVerdict string `json:"old_verdict"`
	NewVerdict string `json:"new_verdict"`
}

// Result is a whole comparison.
type Result struct {
	Old, New string `json:"-"`
	// Scenarios are compared in the baseline's order; OnlyOld and OnlyNew
	// name scenarios that one side lacks (one missing from NEW is worse).
	Scenarios []Scenario `json:"scenarios"`
	OnlyOld   []string   `json:"only_old"`
	OnlyNew   []string   `json:"only_new"`
}

// Worse counts the changes for the worse, a scenario missing from NEW
// included. A CI gate fails when it is above 0.
func (r *Result) Worse() int {
	n := len(r.OnlyOld)
	for _, s := range r.Scenarios {
		n += s.count(VerdictWorse) + s.count(VerdictMissing)
	}
	return n
}

// Better counts the changes for the better.
func (r *Result) Better() int {
	n := 0
	for _, s := range r.Scenarios {
		n += s.count(VerdictBetter)
	}
	return n
}

func (s Scenario) count(verdict string) int {
	n := 0
	for _, c := range s.Changes {
		if c.Verdict == verdict {
			n++
		}
	}
	return n
}

// Runs compares a baseline with a new run, scenario by scenario. Two runs
// with no scenario in common are an input error.
func Runs(old, next *Run) (*Result, error) {
	res := &Result{Old: old.Path, New: next.Path, OnlyOld: []string{}, OnlyNew: []string{}}
	for _, name := range old.Names {
		n, ok := next.Reports[name]
		if !ok {
			res.OnlyOld = append(res.OnlyOld, name)
			continue
		}
		res.Scenarios = append(res.Scenarios, Reports(name, old.Reports[name], n))
	}
	for _, name := range next.Names {
		if _, ok := old.Reports[name]; !ok {
			res.OnlyNew = append(res.OnlyNew, name)
		}
	}
	if len(res.Scenarios) == 0 {
		return nil, fmt.Errorf("%w: %s and %s have no scenario in common (%v against %v)", ErrInput, old.Path, next.Path, old.Names, next.Names)
	}
	return res, nil
}

// Reports compares two reports of one scenario.
func Reports(name string, old, next *reports.Report) Scenario {
	sc := Scenario{Name: name, OldVerdict: old.Verdict, NewVerdict: next.Verdict, Changes: []Change{}}
	sc.Noise, sc.Why = model(old, next)
	newQ := map[string]Quantity{}
	for _, q := range Quantities(next) {
		newQ[q.Key()] = q
	}
	oldKeys := map[string]bool{}
	for _, o := range Quantities(old) {
		oldKeys[o.Key()] = true
		n, ok := newQ[o.Key()]
		switch {
		case !ok || (o.Value != nil && n.Value == nil):
			if o.Value != nil {
				sc.Changes = append(sc.Changes, Change{Subject: o.Subject, Metric: o.Metric, Unit: o.Unit, Old: o.Value, Verdict: VerdictMissing})
			}
			continue
		case o.Value == nil && n.Value != nil:
			sc.Changes = append(sc.Changes, Change{Subject: o.Subject, Metric: o.Metric, Unit: o.Unit, New: n.Value, Verdict: VerdictNew})
			continue
		case o.Value == nil:
			continue
		}
		sc.Compared++
		noise := 0.0
		if sc.Noise == Statistical {
			noise = band(o, n)
		}
		d := *n.Value - *o.Value
		if math.Abs(d) <= noise+rounding(*o.Value, *n.Value) {
			continue
		}
		c := Change{Subject: o.Subject, Metric: o.Metric, Unit: o.Unit, Old: o.Value, New: n.Value, Noise: noise, Verdict: VerdictChanged}
		switch {
		case o.Better == Lower && d > 0, o.Better == Higher && d < 0:
			c.Verdict = VerdictWorse
		case o.Better != Neither:
			c.Verdict = VerdictBetter
		}
		sc.Changes = append(sc.Changes, c)
	}
	for _, q := range Quantities(next) {
		if !oldKeys[q.Key()] && q.Value != nil {
			sc.Changes = append(sc.Changes, Change{Subject: q.Subject, Metric: q.Metric, Unit: q.Unit, New: q.Value, Verdict: VerdictNew})
		}
	}
	return sc
}

// model picks the noise model: runs that replay the same packet fates
// (virtual clock, same seed and duration) are exact.
func model(old, next *reports.Report) (string, string) {
	o, n := old.Scenario, next.Scenario
	switch {
	case o.Clock != "virtual" || n.Clock != "virtual":
		return Statistical, fmt.Sprintf("%s clock against %s clock: the wall clock does not repeat", o.Clock, n.Clock)
	case o.Seed != n.Seed:
		return Statistical, fmt.Sprintf("seed %d against %d: other packet fates", o.Seed, n.Seed)
	case o.DurationS != n.DurationS:
		return Statistical, fmt.Sprintf("%gs against %gs of scenario time", o.DurationS, n.DurationS)
	}
	return Exact, fmt.Sprintf("same seed %d, virtual clock: the same packet fates, so any change is real", o.Seed)
}

// band is the largest change between o and n that noise explains, by the
// quantity's kind (see the package documentation).
func band(o, n Quantity) float64 {
	a, b := *o.Value, *n.Value
	switch o.Kind {
	case Fraction:
		// Four standard errors of the difference of two binomial
		// proportions, pooled; a zero rate is taken as one packet in n so
		// that loss appearing from nothing is judged too.
		if o.N <= 0 || n.N <= 0 {
			return 0
		}
		p := (a*o.N + b*n.N) / (o.N + n.N)
		p = math.Max(p, 1/math.Max(o.N, n.N))
		return 4 * math.Sqrt(p*(1-p)*(1/o.N+1/n.N))
	case Count:
		// Four standard deviations of the difference of two Poisson
		// counts, at least one event.
		return math.Max(1, 4*math.Sqrt(a+b))
	case Continuous:
		return math.Max(o.Floor, 0.1*math.Abs(a))
	}
	return 0 // Flag: any change is real
}

// rounding is what the report's own rounding can move a value by: a
// millionth of it, so that equal runs never differ.
func rounding(a, b float64) float64 {
	return 1e-6 * math.Max(math.Abs(a), math.Abs(b))
}
