package yamldecode

import (
	"errors"
	"strconv"
	"strings"
)

// Error is one problem in a YAML document.
type Error struct {
	// Line is the 1-based line the problem is on (0 when unknown).
	Line int
	// Path is the field's path, e.g. "participants[0].nat"; empty for the
	// document itself, or, from an UnmarshalYAML method, for the node it
	// was given.
	Path string
	// Msg says what is wrong and, where it can, what is allowed.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors flattens err (an *Error, or several joined with errors.Join, at
// any depth) into its *Error values; any other error becomes an *Error
// holding its text.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*Error
		for _, e := range j.Unwrap() {
			out = append(out, Errors(e)...)
		}
		return out
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return []*Error{{Msg: err.Error()}}
}

func join(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// Join appends a field name or an index ("[2]") to a path.
func Join(path, elem string) string {
	switch {
	case path == "":
		return elem
	case elem == "":
		return path
	case strings.HasPrefix(elem, "["):
		return path + elem
	}
	return path + "." + elem
}
