package matrix

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/yamldecode"
)

// A matrix file narrows or widens the default grid. Every key is optional:
//
//	nats: [open, symmetric, cgn-sym]   # rows/columns in order: presets or custom names
//	custom:                            # extra NAT behaviours (RFC 4787)
//	  - name: cgn-sym
//	    mapping: address-and-port-dependent
//	    filtering: address-and-port-dependent
//	    cgn: {mapping: endpoint-independent, filtering: address-dependent}
//	ice: [stun, stun-turn]             # default: host-only, stun, stun-turn, relay-only
//	seed: 7                            # default 1
//	duration: 5s                       # each cell's time limit, 1s..60s; default 5s
//
// Without nats the rows are every preset, then every custom NAT.

// ErrInvalid is wrapped by every error about a matrix file's content.
var ErrInvalid = errors.New("invalid matrix file")

// FileError is one problem in a matrix file.
type FileError struct {
	// File is the file's path.
	File string
	// Line is the 1-based line (0 when unknown).
	Line int
	// Field is the path of the field, e.g. "custom[0].mapping".
	Field string
	// Msg says what is wrong and what is allowed.
	Msg string
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *FileError) Unwrap() error { return ErrInvalid }

// Limits of a matrix file.
const (
	minDuration = time.Second
	maxDuration = time.Minute
	maxNATs     = 20
)

var customName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// LoadFile reads a matrix file and returns the plan it declares.
func LoadFile(path string) (Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Plan{}, &FileError{File: path, Msg: err.Error()}
	}
	return ParseFile(path, data)
}

// fileSpec is a matrix file as written; ParseFile decodes into it and
// then checks the values.
type fileSpec struct {
	NATs     []string  `yaml:"nats"`
	Custom   []natSpec `yaml:"custom"`
	ICE      []string  `yaml:"ice"`
	Seed     *int64    `yaml:"seed"`
	Duration *string   `yaml:"duration"`
}

// natSpec is one custom NAT; CGN has no name and no cgn of its own.
type natSpec struct {
	Name      *string  `yaml:"name"`
	Mapping   *string  `yaml:"mapping"`
	Filtering *string  `yaml:"filtering"`
	CGN       *cgnSpec `yaml:"cgn"`
}

type cgnSpec struct {
	Mapping   *string `yaml:"mapping"`
	Filtering *string `yaml:"filtering"`
}

// ParseFile decodes a matrix file; file names it in errors. Every problem
// is reported, joined, each with its file, line and field.
func ParseFile(file string, data []byte) (Plan, error) {
	p := DefaultPlan()
	root, err := yamldecode.Parse(data)
	d := &decoder{file: file, root: root}
	if err != nil {
		d.decodeErrors(err)
		return p, errors.Join(d.errs...)
	}
	if root == nil {
		return p, &FileError{File: file, Msg: "the file is empty (write at least one of: nats, custom, ice, seed, duration)"}
	}
	var spec fileSpec
	if err := yamldecode.Decode(root, &spec); err != nil {
		d.decodeErrors(err)
		return p, errors.Join(d.errs...)
	}
	custom := d.customs(spec.Custom)
	if spec.ICE != nil {
		p.ICE = d.ice(spec.ICE)
	}
	if spec.Seed != nil {
		p.Seed = *spec.Seed
		if p.Seed < 1 {
			d.bad("seed", fmt.Sprintf("%q: want a whole number >= 1", strconv.FormatInt(p.Seed, 10)), "seed")
		}
	}
	if spec.Duration != nil {
		dur, err := time.ParseDuration(*spec.Duration)
		switch {
		case err != nil:
			d.bad("duration", fmt.Sprintf("%q is not a duration (e.g. 5s)", *spec.Duration), "duration")
		case dur < minDuration || dur > maxDuration:
			d.bad("duration", fmt.Sprintf("%v is outside %v..%v", dur, minDuration, maxDuration), "duration")
		}
		p.Duration = dur
	}
	p.NATs = d.nats(spec.NATs, custom)
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b error) int {
			var x, y *FileError
			errors.As(a, &x)
			errors.As(b, &y)
			return x.Line - y.Line
		})
		return p, errors.Join(d.errs...)
	}
	return p, nil
}

type decoder struct {
	file string
	root *yaml.Node
	errs []error
}

// bad records a problem with field, found at path under the root.
func (d *decoder) bad(field, msg string, path ...any) {
	d.errs = append(d.errs, &FileError{File: d.file, Line: yamldecode.LineOf(d.root, path...), Field: field, Msg: msg})
}

func (d *decoder) decodeErrors(err error) {
	for _, e := range yamldecode.Errors(err) {
		d.errs = append(d.errs, &FileError{File: d.file, Line: e.Line, Field: e.Path, Msg: e.Msg})
	}
}

// nonEmpty checks that a list given is not empty.
func (d *decoder) nonEmpty(list []string, field string) bool {
	if len(list) == 0 {
		d.bad(field, "is empty: list at least one, or leave the key out for the default", field)
		return false
	}
	return true
}

func (d *decoder) ice(list []string) []ICEConfig {
	if !d.nonEmpty(list, "ice") {
		return nil
	}
	var out []ICEConfig
	for i, name := range list {
		ic := ICEConfig(name)
		switch {
		case !ic.Valid():
			d.bad(fmt.Sprintf("ice[%d]", i), fmt.Sprintf("unknown ICE configuration %q (allowed: %s)%s", name, iceNames(), yamldecode.DidYouMean(name, strings.Split(iceNames(), ", "))), "ice", i)
		case slices.Contains(out, ic):
			d.bad(fmt.Sprintf("ice[%d]", i), fmt.Sprintf("%q is listed twice", name), "ice", i)
		default:
			out = append(out, ic)
		}
	}
	return out
}

func (d *decoder) customs(specs []natSpec) []NAT {
	var out []NAT
	for i, c := range specs {
		field := fmt.Sprintf("custom[%d]", i)
		at := []any{"custom", i}
		nat := NAT{}
		if c.Name == nil {
			d.bad(field+".name", "is required", at...)
		} else {
			nat.Name = *c.Name
			if !customName.MatchString(nat.Name) {
				d.bad(field+".name", fmt.Sprintf("%q: use 1-32 lower-case letters, digits and '-', starting with a letter", nat.Name), "custom", i, "name")
			}
		}
		nat.Home = d.natConfig(c.Mapping, c.Filtering, field, at)
		if c.CGN != nil {
			nat.CGN = d.natConfig(c.CGN.Mapping, c.CGN.Filtering, field+".cgn", append(at, "cgn"))
		}
		switch {
		case c.Name == nil:
		case netem.NAT(nat.Name).Valid():
			d.bad(field+".name", fmt.Sprintf("%q is a preset's name; pick another", nat.Name), "custom", i, "name")
		case slices.ContainsFunc(out, func(o NAT) bool { return o.Name == nat.Name }):
			d.bad(field+".name", fmt.Sprintf("%q is used twice", nat.Name), "custom", i, "name")
		}
		out = append(out, nat)
	}
	return out
}

// natConfig checks a mapping/filtering pair, both required.
func (d *decoder) natConfig(mapping, filtering *string, field string, at []any) *netem.NATConfig {
	cfg := &netem.NATConfig{}
	for _, x := range []struct {
		name string
		v    *string
		dep  *netem.Dependency
	}{{"mapping", mapping, &cfg.Mapping}, {"filtering", filtering, &cfg.Filtering}} {
		if x.v == nil {
			d.bad(field+"."+x.name, "is required", at...)
			continue
		}
		*x.dep = d.dependency(*x.v, field+"."+x.name, append(slices.Clone(at), x.name))
	}
	return cfg
}

func (d *decoder) dependency(v, field string, at []any) netem.Dependency {
	dep := netem.Dependency(v)
	if !slices.Contains(netem.Dependencies, dep) {
		names := make([]string, len(netem.Dependencies))
		for i, x := range netem.Dependencies {
			names[i] = string(x)
		}
		d.bad(field, fmt.Sprintf("%q (allowed: %s)", v, strings.Join(names, ", ")), at...)
	}
	return dep
}

// nats resolves the rows: the listed names, or every preset then every
// custom NAT.
func (d *decoder) nats(list []string, custom []NAT) []NAT {
	if list == nil {
		out := DefaultPlan().NATs
		return append(out, custom...)
	}
	if !d.nonEmpty(list, "nats") {
		return nil
	}
	var out []NAT
	for i, name := range list {
		field := fmt.Sprintf("nats[%d]", i)
		var nat NAT
		if j := slices.IndexFunc(custom, func(x NAT) bool { return x.Name == name }); j >= 0 {
			nat = custom[j]
		} else if netem.NAT(name).Valid() {
			nat = PresetNAT(netem.NAT(name))
		} else {
			known := strings.Split(netem.NATNames()+customNames(custom), ", ")
			d.bad(field, fmt.Sprintf("unknown NAT %q (allowed: %s%s)%s", name, netem.NATNames(), customNames(custom), yamldecode.DidYouMean(name, known)), "nats", i)
			continue
		}
		if slices.ContainsFunc(out, func(x NAT) bool { return x.Name == nat.Name }) {
			d.bad(field, fmt.Sprintf("%q is listed twice", name), "nats", i)
			continue
		}
		out = append(out, nat)
	}
	for _, c := range custom {
		if !slices.ContainsFunc(out, func(x NAT) bool { return x.Name == c.Name }) {
			d.bad("nats", fmt.Sprintf("custom NAT %q is not listed: add it, or leave nats out to run every NAT", c.Name), "nats")
		}
	}
	if len(out) > maxNATs {
		d.bad("nats", fmt.Sprintf("%d NATs; at most %d (the grid grows with the square)", len(out), maxNATs), "nats")
	}
	return out
}

func customNames(custom []NAT) string {
	var s string
	for _, c := range custom {
		s += ", " + c.Name
	}
	return s
}
