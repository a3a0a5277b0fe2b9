package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/scenarios"
)

// ErrMetric is wrapped by the error about an unknown --metric.
var ErrMetric = errors.New("bad --metric")

// Plan is a sweep before it runs: the scenario, its axes and every cell,
// each already parsed and validated.
type Plan struct {
	// Scenario is the base scenario's name; File where it came from.
	Scenario, File string
	// Axes are the varied fields, the first varying slowest.
	Axes []Axis
	// Metrics are reduced to a value per subject in every cell.
	Metrics []string
	// Cells are every combination of the axes' values, in stable order.
	Cells []CellPlan
}

// CellPlan is one cell: its index in the whole sweep, the value of each
// axis and the scenario with them set.
type CellPlan struct {
	Index    int
	Values   []string
	Scenario *scenarios.Scenario
}

// NewPlan builds every cell of a sweep of the scenario YAML data (named
// file in errors): each cell is data with the axes' fields set in its
// node tree, parsed and validated by scenarios.Parse. metrics empty means
// the metrics the scenario's expect entries check. Every problem is
// returned, joined; each names its --vary or --metric flag.
func NewPlan(file string, data []byte, axes []Axis, metrics []string) (*Plan, error) {
	base, err := scenarios.Parse(file, data)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := &Plan{Scenario: base.Name, File: file, Axes: axes}
	var errs []error
	seen := map[string]bool{}
	for _, a := range axes {
		if seen[a.Path] {
			errs = append(errs, varyErr(a.Flag, "%s is varied twice", a.Path))
		}
		seen[a.Path] = true
		// Each axis alone, value by value, so that a problem names the
		// flag it comes from.
		for _, v := range a.Values {
			if _, err := parseWith(&root, file, []Axis{a}, []string{v}); err != nil {
				errs = append(errs, varyErr(a.Flag, "value %s: %v", v, err))
				break
			}
		}
	}
	flows := base.Topology == scenarios.TopologyFlows
	if len(metrics) == 0 {
		for _, e := range base.Expect {
			if usable(e.Metric, flows) && !slices.Contains(metrics, e.Metric) {
				metrics = append(metrics, e.Metric)
			}
		}
	}
	for _, m := range metrics {
		if !usable(m, flows) {
			errs = append(errs, fmt.Errorf("%w %q: allowed for this scenario: %s", ErrMetric, m, strings.Join(usableNames(flows), ", ")))
		}
	}
	p.Metrics = metrics
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	total := 1
	for _, a := range axes {
		total *= len(a.Values)
		if total > MaxCells {
			return nil, fmt.Errorf("%w: the sweep has more than %d cells", ErrVary, MaxCells)
		}
	}
	reported := map[string]bool{}
	for i := range total {
		values := cellValues(axes, i)
		s, err := parseWith(&root, file, axes, values)
		if err != nil {
			// One message per distinct problem, not one per cell.
			if key := err.Error(); !reported[key] {
				reported[key] = true
				errs = append(errs, fmt.Errorf("%w: cell %s: %w", ErrVary, cellText(axes, values), err))
			}
			continue
		}
		p.Cells = append(p.Cells, CellPlan{Index: i, Values: values, Scenario: s})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// parseWith parses the document root with each axis set to its value.
func parseWith(root *yaml.Node, file string, axes []Axis, values []string) (*scenarios.Scenario, error) {
	doc := clone(root)
	for k, a := range axes {
		if _, err := set(doc, a.Path, values[k]); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	s, err := scenarios.Parse(file, buf.Bytes())
	if err != nil {
		reline(err, root)
	}
	return s, err
}

// reline points the file:line of each scenarios.Error at the field in the
// original file: Parse saw the re-encoded cell, whose lines differ. A
// field the file does not have (added by a --vary) gets no line.
func reline(err error, root *yaml.Node) {
	var se *scenarios.Error
	if errors.As(err, &se) && len(unwrapAll(err)) == 1 {
		se.Line = lineAt(root, se.Field)
		return
	}
	for _, e := range unwrapAll(err) {
		if errors.As(e, &se) {
			se.Line = lineAt(root, se.Field)
		}
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// field is one step of an error's field path: "participants[1]" is the
// key participants, then item 1.
var field = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)
var index = regexp.MustCompile(`\[(\d+)\]`)

// lineAt is the line of the field path (as scenarios.Error names it,
// "participants[1].downlink.loss") in the document root; 0 when absent.
func lineAt(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if path == "" {
		return 0
	}
	for _, seg := range strings.Split(path, ".") {
		m := field.FindStringSubmatch(seg)
		if m == nil {
			return 0
		}
		if m[1] != "" {
			if n.Kind != yaml.MappingNode {
				return 0
			}
			var next *yaml.Node
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == m[1] {
					next = n.Content[j+1]
				}
			}
			if next == nil {
				return 0
			}
			n = next
		}
		for _, ix := range index.FindAllStringSubmatch(m[2], -1) {
			i, _ := strconv.Atoi(ix[1])
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return 0
			}
			n = n.Content[i]
		}
	}
	return n.Line
}

// MaxCells is the most cells one sweep may have.
const MaxCells = 100000

// position is the index into each axis' values of cell i.
func position(axes []Axis, i int) []int {
	out := make([]int, len(axes))
	for k := len(axes) - 1; k >= 0; k-- {
		n := len(axes[k].Values)
		out[k] = i % n
		i /= n
	}
	return out
}

// cellValues is the value of each axis in cell i (the first axis varies
// slowest).
func cellValues(axes []Axis, i int) []string {
	out := make([]string, len(axes))
	for k, p := range position(axes, i) {
		out[k] = axes[k].Values[p]
	}
	return out
}

// cellText names a cell by its flags' paths and values.
func cellText(axes []Axis, values []string) string {
	parts := make([]string, len(axes))
	for k, a := range axes {
		parts[k] = fmt.Sprintf("--vary %s=%s", a.Path, values[k])
	}
	return strings.Join(parts, " ")
}

// usable reports whether a metric has one value per subject (MetricValues).
func usable(m string, flows bool) bool {
	if m == "layer" || m == "negotiated" {
		return false
	}
	_, ok := analysis.LookupMetric(m, flows)
	return ok
}

func usableNames(flows bool) []string {
	var out []string
	for _, m := range analysis.MetricNames(flows) {
		if usable(m, flows) {
			out = append(out, m)
		}
	}
	return out
}

// clone deep-copies a YAML node tree.
func clone(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = clone(k)
	}
	return &c
}

// set writes value at path in the document doc, creating missing mapping
// keys, and returns the node it wrote. In a list, a segment is an index or
// the name: of an item.
func set(doc *yaml.Node, path, value string) (*yaml.Node, error) {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	segs := strings.Split(path, ".")
	where := "the scenario"
	for i, seg := range segs {
		last := i == len(segs)-1
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == seg {
					next = n.Content[j+1]
					break
				}
			}
			if next == nil {
				// A field left out: add it (Parse says if no such
				// field exists, and which do).
				key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}
				next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				if last {
					next = &yaml.Node{Kind: yaml.ScalarNode}
				}
				n.Content = append(n.Content, key, next)
			}
			n = next
		case yaml.SequenceNode:
			item, err := pick(n, seg, where)
			if err != nil {
				return nil, err
			}
			n = item
		default:
			return nil, fmt.Errorf("%s is %q, not a mapping or list: no field %q in it", where, n.Value, seg)
		}
		where = strings.Join(segs[:i+1], ".")
	}
	// The value replaces whatever was there (a scalar, or a mapping such
	// as a custom nat); its YAML type is resolved as if written by hand.
	*n = yaml.Node{Kind: yaml.ScalarNode, Value: value, Line: n.Line, Column: n.Column}
	return n, nil
}

// pick finds a list item by index or by its name: field.
func pick(list *yaml.Node, seg, where string) (*yaml.Node, error) {
	var names []string
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			if item.Content[j].Value == "name" {
				if item.Content[j+1].Value == seg {
					return item, nil
				}
				names = append(names, item.Content[j+1].Value)
			}
		}
	}
	if i, err := strconv.Atoi(seg); err == nil {
		if i >= 0 && i < len(list.Content) {
			return list.Content[i], nil
		}
	}
	allowed := fmt.Sprintf("an index 0..%d", len(list.Content)-1)
	if len(list.Content) == 0 {
		allowed = "none: the list is empty"
	}
	if len(names) > 0 {
		allowed = strings.Join(names, ", ") + " or " + allowed
	}
	return nil, fmt.Errorf("%s has no item %q (allowed: %s)", where, seg, allowed)
}
