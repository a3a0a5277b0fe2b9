package scenarios

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Builtin holds the scenarios shipped in the binary (scenarios/*.yaml,
// and the RFC 8867 test cases as rfc8867/NAME).
//
//go:embed *.yaml rfc8867/*.yaml
var builtin embed.FS

// DefaultScenario is what `rtclab run` runs without arguments.
const DefaultScenario = "quickstart"

// BuiltinNames lists the embedded scenarios, without ".yaml".
func BuiltinNames() []string {
	entries, _ := fs.ReadDir(builtin, ".")
	names := []string{DefaultScenario}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if n := strings.TrimSuffix(e.Name(), ".yaml"); n != DefaultScenario {
			names = append(names, n)
		}
	}
	return append(names, BuiltinGroup(RFC8867)...)
}

// RFC8867 is the group of built-in RFC 8867 test cases ("rfc8867/5.1" ...).
const RFC8867 = "rfc8867"

// BuiltinGroup lists the built-in scenarios in a group directory
// ("rfc8867"), as group/NAME, or nil when there is no such group.
func BuiltinGroup(group string) []string {
	group = strings.TrimSuffix(group, "/")
	entries, err := fs.ReadDir(builtin, group)
	if err != nil || group == "." || group == "" {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			names = append(names, group+"/"+n)
		}
	}
	return names
}

// ErrInvalid is wrapped by every error about a scenario's content.
var ErrInvalid = errors.New("invalid scenario")

// Error is one problem in a scenario file.
type Error struct {
	// File is the scenario's path.
	File string
	// Line is the 1-based line (0 when unknown).
	Line int
	// Field is the path of the field, e.g. "participants[1].nat".
	Field string
	// Msg says what is wrong and what is allowed.
	Msg string
}

func (e *Error) Error() string {
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

func (e *Error) Unwrap() error { return ErrInvalid }

// Load reads and validates a scenario. ref is a file path, or the name of a
// built-in scenario ("quickstart"). Every problem found is returned, joined,
// each naming the file, line and field.
func Load(ref string) (*Scenario, error) {
	if data, name, ok := readBuiltin(ref); ok {
		return Parse(name, data)
	}
	data, err := os.ReadFile(ref)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{File: ref, Msg: "no such file (built-in scenarios: " + strings.Join(BuiltinNames(), ", ") + ")"}
		}
		return nil, &Error{File: ref, Msg: err.Error()}
	}
	return Parse(ref, data)
}

func readBuiltin(ref string) ([]byte, string, bool) {
	if strings.Contains(ref, `\`) {
		return nil, "", false
	}
	if _, err := os.Stat(ref); err == nil {
		return nil, "", false // a local file wins over a built-in name
	}
	name := strings.TrimSuffix(ref, ".yaml") + ".yaml"
	data, err := builtin.ReadFile(name)
	if err != nil {
		return nil, "", false
	}
	return data, "embedded:" + name, true
}

// Parse decodes and validates scenario YAML; file names it in errors.
func Parse(file string, data []byte) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{File: file, Line: yamlErrLine(err), Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(root.Content) == 0 {
		return nil, &Error{File: file, Msg: "the file is empty"}
	}
	s := &Scenario{File: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var errs []error
	if err := dec.Decode(s); err != nil && !errors.Is(err, io.EOF) {
		errs = append(errs, decodeErrors(file, &root, err)...)
	}
	if len(errs) == 0 {
		errs = s.validate(&root)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

var lineMsg = regexp.MustCompile(`^line (\d+): (.*)$`)
var colMsg = regexp.MustCompile(`^\[col (\d+)\] (.*)$`)
var unknownField = regexp.MustCompile(`^field (\S+) not found in type scenarios\.(\w+)$`)

func decodeErrors(file string, root *yaml.Node, err error) []error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []error{&Error{File: file, Line: yamlErrLine(err), Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var out []error
	for _, e := range te.Errors {
		m := lineMsg.FindStringSubmatch(e)
		if m == nil {
			out = append(out, &Error{File: file, Msg: e})
			continue
		}
		line, _ := strconv.Atoi(m[1])
		msg, col := m[2], 0
		if c := colMsg.FindStringSubmatch(msg); c != nil {
			col, _ = strconv.Atoi(c[1])
			msg = c[2]
		}
		if u := unknownField.FindStringSubmatch(msg); u != nil {
			msg = fmt.Sprintf("unknown field %q (allowed: %s)", u[1], strings.Join(allowedFields(u[2]), ", "))
		} else if strings.HasPrefix(msg, "cannot unmarshal") {
			msg = humanTypeError(msg)
		}
		out = append(out, &Error{File: file, Line: line, Field: fieldAt(root, line, col), Msg: msg})
	}
	return out
}

var typeErr = regexp.MustCompile(`cannot unmarshal !!(\w+) ` + "`" + `?([^` + "`" + `]*)` + "`" + `? into (\S+)`)

func humanTypeError(msg string) string {
	m := typeErr.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := m[3]
	switch {
	case strings.HasPrefix(want, "[]"):
		want = "a list"
	case strings.HasPrefix(want, "scenarios."), strings.HasPrefix(want, "*scenarios."):
		want = "a mapping (key: value)"
	case strings.HasPrefix(want, "int"):
		want = "a whole number"
	case want == "bool", want == "*bool":
		want = "true or false"
	}
	return fmt.Sprintf("%s is not valid here: want %s", strconv.Quote(m[2]), want)
}

var typesByName = map[string]reflect.Type{
	"Scenario":     reflect.TypeFor[Scenario](),
	"ICE":          reflect.TypeFor[ICE](),
	"Participant":  reflect.TypeFor[Participant](),
	"Link":         reflect.TypeFor[Link](),
	"LinkChange":   reflect.TypeFor[LinkChange](),
	"Step":         reflect.TypeFor[Step](),
	"NATDetail":    reflect.TypeFor[NATDetail](),
	"FirewallSpec": reflect.TypeFor[FirewallSpec](),
	"Expectation":  reflect.TypeFor[Expectation](),
	"Flow":         reflect.TypeFor[Flow](),
	"PauseSpec":    reflect.TypeFor[PauseSpec](),
	"FilesSpec":    reflect.TypeFor[FilesSpec](),
	"KnownFailure": reflect.TypeFor[KnownFailure](),
	"Fault":        reflect.TypeFor[Fault](),
}

func allowedFields(typeName string) []string {
	t, ok := typesByName[typeName]
	if !ok {
		return nil
	}
	var out []string
	for _, f := range yamlFields(t) {
		out = append(out, f.name)
	}
	return out
}

type yamlField struct {
	name string
	typ  reflect.Type
}

// yamlFields lists the YAML keys of struct type t in declaration order,
// with the fields of ",inline" structs in place.
func yamlFields(t reflect.Type) []yamlField {
	var out []yamlField
	for f := range t.Fields() {
		parts := strings.Split(f.Tag.Get("yaml"), ",")
		switch {
		case len(parts) > 1 && parts[1] == "inline":
			out = append(out, yamlFields(f.Type)...)
		case parts[0] != "" && parts[0] != "-":
			out = append(out, yamlField{parts[0], f.Type})
		}
	}
	return out
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// fieldAt returns the path of the deepest key or value on line, preferring
// the value that starts at col when col > 0 (flow mappings hold several
// fields on one line).
func fieldAt(root *yaml.Node, line, col int) string {
	best := ""
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				if (k.Line == line || v.Line == line) && (col == 0 || v.Column == col || k.Column == col) {
					best = p
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Line == line && c.Kind == yaml.ScalarNode {
					best = p
				}
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return best
}

// lineOf returns the line of the node at path ("participants", 1, "nat"),
// or of its deepest existing ancestor.
func lineOf(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, step := range path {
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						next = n.Content[i+1]
						line = n.Content[i].Line
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s < len(n.Content) {
				next = n.Content[s]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
