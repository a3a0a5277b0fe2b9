package sweep

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ErrVary is wrapped by every error about a --vary flag.
var ErrVary = errors.New("bad --vary")

// MaxValues is the most values one --vary may expand to.
const MaxValues = 1000

// Axis is one varied field: a path into the scenario and its values.
type Axis struct {
	// Flag is the --vary flag as given, for errors and reports.
	Flag string `json:"flag"`
	// Path is the field's path, dot-separated: mapping keys, and in a list
	// an index or the name of an item ("participants.bob.downlink.loss").
	Path string `json:"path"`
	// Values are the field's values, as written into the scenario's YAML
	// ("3%", "40ms", "2").
	Values []string `json:"values"`
}

// ParseVary reads one --vary flag, PATH=VALUES, where VALUES is a list
// ("a,b,c") or a range ("lo..hi" or "lo..hi/step", step 1 by default) of
// numbers with the unit the field takes ("0%..10%/1%", "20ms..100ms/20ms").
// The values are only checked against the field when the cells are built
// (NewPlan).
func ParseVary(flag string) (Axis, error) {
	path, spec, ok := strings.Cut(flag, "=")
	path, spec = strings.TrimSpace(path), strings.TrimSpace(spec)
	a := Axis{Flag: flag, Path: path}
	if !ok || path == "" || spec == "" {
		return a, varyErr(flag, "want PATH=VALUES, e.g. participants.bob.downlink.loss=0%%..10%%/1%% or seed=1,2,3")
	}
	for _, seg := range strings.Split(path, ".") {
		if seg == "" {
			return a, varyErr(flag, "path %q has an empty segment", path)
		}
	}
	if strings.Contains(spec, "..") {
		vals, err := expandRange(spec)
		if err != nil {
			return a, varyErr(flag, "%v", err)
		}
		a.Values = vals
		return a, nil
	}
	for _, v := range strings.Split(spec, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return a, varyErr(flag, "empty value in list %q", spec)
		}
		a.Values = append(a.Values, v)
	}
	if len(a.Values) > MaxValues {
		return a, varyErr(flag, "%d values, at most %d", len(a.Values), MaxValues)
	}
	return a, nil
}

func varyErr(flag, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrVary, flag, fmt.Sprintf(format, args...))
}

// quantity is a number and its unit ("10%", "40ms", "2").
var quantity = regexp.MustCompile(`^([+-]?(?:\d+\.?\d*|\.\d+))\s*([A-Za-z%/]*)$`)

type number struct {
	v        float64
	decimals int
	unit     string
}

func parseNumber(s string) (number, error) {
	m := quantity.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return number{}, fmt.Errorf("%q is not a number with an optional unit (e.g. 10%%, 40ms, 2)", s)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return number{}, fmt.Errorf("%q: %w", s, err)
	}
	dec := 0
	if _, frac, ok := strings.Cut(m[1], "."); ok {
		dec = len(frac)
	}
	return number{v: v, decimals: dec, unit: m[2]}, nil
}

// expandRange expands "lo..hi[/step]" into its values, lo and hi included
// (hi when it is on the grid), written with the range's unit.
func expandRange(spec string) ([]string, error) {
	bounds, stepText, hasStep := strings.Cut(spec, "/")
	loText, hiText, _ := strings.Cut(bounds, "..")
	lo, err := parseNumber(loText)
	if err != nil {
		return nil, fmt.Errorf("range start: %w", err)
	}
	hi, err := parseNumber(hiText)
	if err != nil {
		return nil, fmt.Errorf("range end: %w", err)
	}
	step := number{v: 1, unit: ""}
	if hasStep {
		if step, err = parseNumber(stepText); err != nil {
			return nil, fmt.Errorf("range step: %w", err)
		}
	}
	unit := lo.unit
	for _, u := range []string{hi.unit, step.unit} {
		switch {
		case u == "" || u == unit:
		case unit == "":
			unit = u
		default:
			return nil, fmt.Errorf("range %q mixes units %q and %q: write every bound in one unit", spec, unit, u)
		}
	}
	for _, u := range []string{lo.unit, hi.unit, step.unit} {
		if u != "" && u != unit {
			return nil, fmt.Errorf("range %q mixes units %q and %q: write every bound in one unit", spec, unit, u)
		}
	}
	switch {
	case step.v <= 0:
		return nil, fmt.Errorf("range %q: the step must be above 0", spec)
	case hi.v < lo.v:
		return nil, fmt.Errorf("range %q: the end is below the start", spec)
	}
	dec := max(lo.decimals, hi.decimals, step.decimals)
	scale := math.Pow(10, float64(dec))
	// Count in floating point: a huge range must not overflow an int.
	count := math.Floor((hi.v-lo.v)/step.v+1e-9) + 1
	if !(count <= MaxValues) {
		return nil, fmt.Errorf("range %q has %.4g values, at most %d", spec, count, MaxValues)
	}
	n := int(count)
	out := make([]string, n)
	for i := range n {
		v := math.Round((lo.v+float64(i)*step.v)*scale) / scale
		out[i] = strconv.FormatFloat(v, 'f', -1, 64) + unit
	}
	return out, nil
}
