package yamldecode

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Decode decodes node n (a document or any node) into v, a non-nil
// pointer. Unlike yaml.v3's Node.Decode it is strict at every depth: a key
// that names no field, a key given twice, a list where a mapping belongs
// are all errors. Every problem found is returned, joined, each an *Error
// with its line and its path relative to n; fields without problems are
// still decoded.
func Decode(n *yaml.Node, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &Error{Msg: fmt.Sprintf("yamldecode: Decode needs a non-nil pointer, not %T", v)}
	}
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if isNull(n) {
		return nil // a document of null ("~") leaves v as it is
	}
	d := &decoder{}
	d.value(n, rv.Elem(), "")
	return join(d.errs)
}

type decoder struct {
	errs []*Error
	// aliases counts alias expansions, bounded so that a small document
	// of aliases to aliases cannot expand into an enormous one.
	aliases int
}

// maxAliases bounds the alias expansions of one document.
const maxAliases = 10_000

func (d *decoder) bad(n *yaml.Node, path, msg string) {
	d.errs = append(d.errs, &Error{Line: n.Line, Path: path, Msg: msg})
}

var (
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	nodeType            = reflect.TypeFor[yaml.Node]()
)

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	case yaml.AliasNode:
		if n.Alias == nil {
			d.bad(n, path, "alias to nothing")
			return
		}
		if d.aliases++; d.aliases > maxAliases {
			if d.aliases == maxAliases+1 {
				d.bad(n, path, fmt.Sprintf("more than %d alias expansions", maxAliases))
			}
			return
		}
		n = n.Alias
	}
	if v.Type() == nodeType {
		v.Set(reflect.ValueOf(*n))
		return
	}
	if isNull(n) {
		// null (~, or nothing after the colon) leaves the zero value, as
		// in yaml.v3, without calling UnmarshalYAML.
		v.SetZero()
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.placed(n, path, err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		d.list(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// placed records the errors of an UnmarshalYAML method under path.
func (d *decoder) placed(n *yaml.Node, path string, err error) {
	if te, ok := err.(*yaml.TypeError); ok {
		for _, msg := range te.Errors {
			line, text := splitYAMLError(fmt.Errorf("%s", msg))
			if line == 0 {
				line = n.Line
			}
			d.errs = append(d.errs, &Error{Line: line, Path: path, Msg: text})
		}
		return
	}
	for _, e := range Errors(err) {
		line := e.Line
		if line == 0 {
			line = n.Line
		}
		d.errs = append(d.errs, &Error{Line: line, Path: Join(path, e.Path), Msg: e.Msg})
	}
}

// Field is one YAML key of a struct type.
type Field struct {
	// Name is the key.
	Name string
	// Index is the field's index path for reflect.Value.FieldByIndex.
	Index []int
}

// Fields lists the YAML keys of struct type t in declaration order, with
// the fields of ",inline" structs in place.
func Fields(t reflect.Type) []Field {
	var out []Field
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case opts == "inline" || strings.HasPrefix(opts, "inline,"):
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() != reflect.Struct {
				continue // only structs are inlined
			}
			for _, in := range Fields(ft) {
				out = append(out, Field{Name: in.Name, Index: append([]int{f.Index[0]}, in.Index...)})
			}
		case name == "-" || !f.IsExported():
		case name == "":
			out = append(out, Field{Name: strings.ToLower(f.Name), Index: f.Index})
		default:
			out = append(out, Field{Name: name, Index: f.Index})
		}
	}
	return out
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.bad(n, path, fmt.Sprintf("%s is not valid here: want a mapping (key: value)", describe(n)))
		return
	}
	fields := Fields(v.Type())
	byName := make(map[string]Field, len(fields))
	names := make([]string, len(fields))
	for i, f := range fields {
		byName[f.Name] = f
		names[i] = f.Name
	}
	// Merge keys ("<<: *defaults", YAML 1.1) first, so that the
	// mapping's own keys override what they bring.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; isMerge(k) {
			d.merge(n.Content[i+1], v, path)
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := Join(path, k.Value)
		if isMerge(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.bad(k, path, "a key must be a plain name")
			continue
		}
		f, ok := byName[k.Value]
		if !ok {
			msg := fmt.Sprintf("unknown field %q (allowed: %s)", k.Value, strings.Join(names, ", "))
			if s := Closest(k.Value, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			d.bad(k, p, msg)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.bad(k, p, fmt.Sprintf("given twice (first on line %d)", first))
			continue
		}
		seen[k.Value] = k.Line
		fv, ok := fieldByIndex(v, f.Index)
		if !ok {
			d.bad(k, p, fmt.Sprintf("yamldecode: field of %s cannot be set", v.Type()))
			continue
		}
		d.value(val, fv, p)
	}
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// merge decodes the mapping (or list of mappings) of a merge key into the
// struct v.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		if d.aliases++; d.aliases > maxAliases {
			return
		}
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		d.structure(n, v, path)
	case yaml.SequenceNode:
		// Earlier mappings in the list override later ones.
		for i := len(n.Content) - 1; i >= 0; i-- {
			d.merge(n.Content[i], v, path)
		}
	default:
		d.bad(n, path, "<< must merge a mapping or a list of mappings")
	}
}

// fieldByIndex is v.FieldByIndex, allocating nil embedded pointers; ok is
// false for a field that cannot be set (behind an unexported embedded
// pointer).
func fieldByIndex(v reflect.Value, index []int) (_ reflect.Value, ok bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return v, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, v.CanSet()
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.bad(n, path, fmt.Sprintf("%s is not valid here: want a list", describe(n)))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		d.value(c, s.Index(i), path+"["+strconv.Itoa(i)+"]")
	}
	v.Set(s)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.bad(n, path, fmt.Sprintf("%s is not valid here: want a mapping (key: value)", describe(n)))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := Join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.bad(k, p, fmt.Sprintf("given twice (first on line %d)", first))
			continue
		}
		seen[k.Value] = k.Line
		key := reflect.New(v.Type().Key()).Elem()
		before := len(d.errs)
		d.value(k, key, p)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(val, elem, p)
		if len(d.errs) == before {
			m.SetMapIndex(key, elem)
		}
	}
	v.Set(m)
}

// scalar decodes a plain value with yaml.v3's own rules (so 0x10, 1_000,
// yes/no behave as in any YAML), replacing its error with one that says
// what is wanted.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	want := wantOf(v.Type())
	if n.Kind != yaml.ScalarNode && v.Kind() != reflect.Interface {
		d.bad(n, path, fmt.Sprintf("%s is not valid here: want %s", describe(n), want))
		return
	}
	if v.Kind() == reflect.String && !v.Addr().Type().Implements(textUnmarshalerType) {
		v.SetString(n.Value) // any scalar's text is a string
		return
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		d.bad(n, path, fmt.Sprintf("%s is not valid here: want %s", describe(n), want))
	}
}

func wantOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number >= 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a single value"
	}
	return "a value of type " + t.String()
}

// describe names what a node holds for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}
