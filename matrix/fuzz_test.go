package matrix

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseFile feeds arbitrary bytes to the matrix file parser. It must
// never panic; every problem it reports must be a *FileError naming the
// file; a plan it accepts must have cells that each build a scenario.
func FuzzParseFile(f *testing.F) {
	for _, seed := range []string{
		"nats: [open, cgn-sym, symmetric]\ncustom:\n  - name: cgn-sym\n    mapping: endpoint-independent\n    filtering: address-dependent\n    cgn: {mapping: address-and-port-dependent, filtering: address-and-port-dependent}\nice: [stun, relay-only]\nseed: 7\nduration: 3s\n",
		"custom:\n  - {name: x, mapping: endpoint-independent, filtering: endpoint-independent}\n",
		"nats: [nope]\n",
		"duration: -1s\n",
		"[1, 2]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseFile("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			for _, leaf := range leafErrors(err) {
				var e *FileError
				if !errors.As(leaf, &e) || e.File != "fuzz.yaml" || e.Msg == "" || !strings.HasPrefix(leaf.Error(), "fuzz.yaml") {
					t.Fatalf("an error that does not name the file: %T %q", leaf, leaf)
				}
			}
			return
		}
		cells := p.Cells()
		if len(cells) > 10000 {
			return // a large grid: building every scenario is no parser test
		}
		for _, c := range cells {
			if _, err := p.Scenario(c); err != nil {
				t.Fatalf("accepted plan, cell %+v: %v", c, err)
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
