package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the scenario parser. It must never
// panic, and every problem it reports must be a *Error that names the file
// (the rule for config errors: file, line, field, what is allowed).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("*.yaml")
	more, _ := filepath.Glob(filepath.Join("rfc8867", "*.yaml"))
	for _, p := range append(files, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("name: x\nduration: 5s\nparticipants:\n  - name: a\n    nat: cone\n"))
	f.Add([]byte("- [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err == nil {
			if s == nil {
				t.Fatal("nil scenario without an error")
			}
			return
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
		for _, leaf := range leafErrors(err) {
			var e *Error
			if !errors.As(leaf, &e) || e.File != "fuzz.yaml" || e.Msg == "" || !strings.HasPrefix(leaf.Error(), "fuzz.yaml") {
				t.Fatalf("an error that does not name the file: %T %q", leaf, leaf)
			}
		}
	})
}

// leafErrors unpacks errors.Join.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}
