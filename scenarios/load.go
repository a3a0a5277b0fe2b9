package scenarios

import (
	"embed"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/rtclab/rtclab/yamldecode"
)

// Builtin holds the scenarios shipped in the binary (scenarios/*.yaml,
// the RFC 8867 test cases as rfc8867/NAME, the privacy set as
// privacy/NAME).
//
//go:embed *.yaml rfc8867/*.yaml privacy/*.yaml
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
	names = append(names, BuiltinGroup(RFC8867)...)
	return append(names, BuiltinGroup(Privacy)...)
}

// RFC8867 is the group of built-in RFC 8867 test cases ("rfc8867/5.1" ...).
const RFC8867 = "rfc8867"

// Privacy is the group of built-in privacy scenarios ("privacy/relay-only"
// ...): what each party of a call learns with and without relay_only and
// mDNS, with .local-stripping signaling, through TURN and through the SFU.
const Privacy = "privacy"

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
	data, name, err := Read(ref)
	if err != nil {
		return nil, err
	}
	return Parse(name, data)
}

// Read returns the YAML of ref (a file path or the name of a built-in
// scenario) and the name Load gives it in errors and reports
// ("embedded:quickstart.yaml" for a built-in), for callers that edit the
// YAML before Parse (rtclab sweep).
func Read(ref string) ([]byte, string, error) {
	if data, name, ok := readBuiltin(ref); ok {
		return data, name, nil
	}
	data, err := os.ReadFile(ref)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", &Error{File: ref, Msg: "no such file (built-in scenarios: " + strings.Join(BuiltinNames(), ", ") + ")" +
				yamldecode.DidYouMean(strings.TrimSuffix(ref, ".yaml"), BuiltinNames())}
		}
		return nil, "", &Error{File: ref, Msg: err.Error()}
	}
	return data, ref, nil
}

// BuiltinYAML returns the YAML of the built-in scenario name
// ("quickstart", "rfc8867/5.1"), as shipped.
func BuiltinYAML(name string) ([]byte, bool) {
	if strings.Contains(name, `\`) || strings.HasPrefix(name, "/") {
		return nil, false
	}
	data, err := builtin.ReadFile(strings.TrimSuffix(name, ".yaml") + ".yaml")
	return data, err == nil
}

func readBuiltin(ref string) ([]byte, string, bool) {
	if strings.Contains(ref, `\`) {
		return nil, "", false
	}
	if fi, err := os.Stat(ref); err == nil && !fi.IsDir() {
		return nil, "", false // a local file wins over a built-in name; a folder (an output named "quickstart") does not
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
	return parse(file, data, true)
}

// parse is Parse; refs false leaves a reference: unloaded (a reference
// being loaded: it must have none, and a scenario naming itself would
// otherwise load forever).
func parse(file string, data []byte, refs bool) (*Scenario, error) {
	root, err := yamldecode.Parse(data)
	if err != nil {
		return nil, fileErrors(file, err)
	}
	if root == nil {
		return nil, &Error{File: file, Msg: "the file is empty"}
	}
	s := &Scenario{File: file, skipReference: !refs}
	if err := yamldecode.Decode(root, s); err != nil {
		return nil, fileErrors(file, err)
	}
	if errs := s.validate(root); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// fileErrors turns the decoder's errors into this package's, naming file.
func fileErrors(file string, err error) error {
	var out []error
	for _, e := range yamldecode.Errors(err) {
		out = append(out, &Error{File: file, Line: e.Line, Field: e.Path, Msg: e.Msg})
	}
	return errors.Join(out...)
}
