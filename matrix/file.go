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

// ParseFile decodes a matrix file; file names it in errors. Every problem
// is reported, joined, each with its file, line and field.
func ParseFile(file string, data []byte) (Plan, error) {
	p := DefaultPlan()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return p, &FileError{File: file, Line: yamlLine(err), Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 {
		return p, &FileError{File: file, Msg: "the file is empty (write at least one of: nats, custom, ice, seed, duration)"}
	}
	d := &decoder{file: file}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		d.bad(root, "", "want a mapping with nats, custom, ice, seed, duration")
		return p, errors.Join(d.errs...)
	}
	var natsNode *yaml.Node
	var custom []NAT
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "nats":
			natsNode = v
		case "custom":
			custom = d.customs(v)
		case "ice":
			p.ICE = d.ice(v)
		case "seed":
			n, err := strconv.ParseInt(v.Value, 10, 64)
			if v.Kind != yaml.ScalarNode || err != nil || n < 1 {
				d.bad(v, "seed", fmt.Sprintf("%q: want a whole number >= 1", v.Value))
			}
			p.Seed = n
		case "duration":
			dur, err := time.ParseDuration(v.Value)
			switch {
			case v.Kind != yaml.ScalarNode || err != nil:
				d.bad(v, "duration", fmt.Sprintf("%q is not a duration (e.g. 5s)", v.Value))
			case dur < minDuration || dur > maxDuration:
				d.bad(v, "duration", fmt.Sprintf("%v is outside %v..%v", dur, minDuration, maxDuration))
			}
			p.Duration = dur
		default:
			d.bad(k, k.Value, fmt.Sprintf("unknown field %q (allowed: nats, custom, ice, seed, duration)", k.Value))
		}
	}
	p.NATs = d.nats(natsNode, custom)
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
	errs []error
}

func (d *decoder) bad(n *yaml.Node, field, msg string) {
	d.errs = append(d.errs, &FileError{File: d.file, Line: n.Line, Field: field, Msg: msg})
}

// list returns the scalars of a sequence node.
func (d *decoder) list(n *yaml.Node, field string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.bad(n, field, "want a list, e.g. [a, b]")
		return nil
	}
	if len(n.Content) == 0 {
		d.bad(n, field, "is empty: list at least one, or leave the key out for the default")
	}
	var out []*yaml.Node
	for i, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			d.bad(c, fmt.Sprintf("%s[%d]", field, i), "want a name")
			continue
		}
		out = append(out, c)
	}
	return out
}

func (d *decoder) ice(n *yaml.Node) []ICEConfig {
	var out []ICEConfig
	for i, c := range d.list(n, "ice") {
		ic := ICEConfig(c.Value)
		switch {
		case !ic.Valid():
			d.bad(c, fmt.Sprintf("ice[%d]", i), fmt.Sprintf("unknown ICE configuration %q (allowed: %s)", c.Value, iceNames()))
		case slices.Contains(out, ic):
			d.bad(c, fmt.Sprintf("ice[%d]", i), fmt.Sprintf("%q is listed twice", c.Value))
		default:
			out = append(out, ic)
		}
	}
	return out
}

func (d *decoder) customs(n *yaml.Node) []NAT {
	if n.Kind != yaml.SequenceNode {
		d.bad(n, "custom", "want a list of NATs, each with name, mapping, filtering and optionally cgn")
		return nil
	}
	var out []NAT
	for i, c := range n.Content {
		field := fmt.Sprintf("custom[%d]", i)
		nat := NAT{}
		home := d.natConfig(c, field, true, &nat.Name, &nat.CGN)
		if home == nil {
			continue
		}
		nat.Home = home
		switch {
		case netem.NAT(nat.Name).Valid():
			d.bad(c, field+".name", fmt.Sprintf("%q is a preset's name; pick another", nat.Name))
		case slices.ContainsFunc(out, func(o NAT) bool { return o.Name == nat.Name }):
			d.bad(c, field+".name", fmt.Sprintf("%q is used twice", nat.Name))
		}
		out = append(out, nat)
	}
	return out
}

// natConfig decodes {name, mapping, filtering, cgn}; name and cgn only
// where top is true.
func (d *decoder) natConfig(n *yaml.Node, field string, top bool, name *string, cgn **netem.NATConfig) *netem.NATConfig {
	if n.Kind != yaml.MappingNode {
		d.bad(n, field, "want a mapping with mapping and filtering")
		return nil
	}
	allowed := "mapping, filtering"
	if top {
		allowed = "name, mapping, filtering, cgn"
	}
	cfg := &netem.NATConfig{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		seen[k.Value] = true
		switch {
		case k.Value == "mapping":
			cfg.Mapping = d.dependency(v, field+".mapping")
		case k.Value == "filtering":
			cfg.Filtering = d.dependency(v, field+".filtering")
		case top && k.Value == "name":
			*name = v.Value
			if v.Kind != yaml.ScalarNode || !customName.MatchString(v.Value) {
				d.bad(v, field+".name", fmt.Sprintf("%q: use 1-32 lower-case letters, digits and '-', starting with a letter", v.Value))
			}
		case top && k.Value == "cgn":
			*cgn = d.natConfig(v, field+".cgn", false, nil, nil)
		default:
			d.bad(k, field+"."+k.Value, fmt.Sprintf("unknown field %q (allowed: %s)", k.Value, allowed))
		}
	}
	for _, req := range strings.Split(allowed, ", ") {
		if req != "cgn" && !seen[req] {
			d.bad(n, field+"."+req, "is required")
		}
	}
	return cfg
}

func (d *decoder) dependency(n *yaml.Node, field string) netem.Dependency {
	dep := netem.Dependency(n.Value)
	if n.Kind != yaml.ScalarNode || !slices.Contains(netem.Dependencies, dep) {
		names := make([]string, len(netem.Dependencies))
		for i, x := range netem.Dependencies {
			names[i] = string(x)
		}
		d.bad(n, field, fmt.Sprintf("%q (allowed: %s)", n.Value, strings.Join(names, ", ")))
	}
	return dep
}

// nats resolves the rows: the listed names, or every preset then every
// custom NAT.
func (d *decoder) nats(n *yaml.Node, custom []NAT) []NAT {
	if n == nil {
		out := DefaultPlan().NATs
		return append(out, custom...)
	}
	var out []NAT
	for i, c := range d.list(n, "nats") {
		field := fmt.Sprintf("nats[%d]", i)
		var nat NAT
		if j := slices.IndexFunc(custom, func(x NAT) bool { return x.Name == c.Value }); j >= 0 {
			nat = custom[j]
		} else if netem.NAT(c.Value).Valid() {
			nat = PresetNAT(netem.NAT(c.Value))
		} else {
			d.bad(c, field, fmt.Sprintf("unknown NAT %q (allowed: %s%s)", c.Value, netem.NATNames(), customNames(custom)))
			continue
		}
		if slices.ContainsFunc(out, func(x NAT) bool { return x.Name == nat.Name }) {
			d.bad(c, field, fmt.Sprintf("%q is listed twice", c.Value))
			continue
		}
		out = append(out, nat)
	}
	for _, c := range custom {
		if !slices.ContainsFunc(out, func(x NAT) bool { return x.Name == c.Name }) {
			d.bad(n, "nats", fmt.Sprintf("custom NAT %q is not listed: add it, or leave nats out to run every NAT", c.Name))
		}
	}
	if len(out) > maxNATs {
		d.bad(n, "nats", fmt.Sprintf("%d NATs; at most %d (the grid grows with the square)", len(out), maxNATs))
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

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}
