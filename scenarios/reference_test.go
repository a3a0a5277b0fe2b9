package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A flows scenario's reference (RFC 8867 section 5.3) loads from a path
// relative to the scenario or a built-in name; every mistake names the
// file, the line of reference: and what is wrong.
func TestReference(t *testing.T) {
	dir := t.TempDir()
	flows := func(name, ref, flow string) string {
		s := "name: " + name + "\ntopology: flows\nduration: 10s\n"
		if ref != "" {
			s += "reference: " + ref + "\n"
		}
		return s + "participants:\n  - {name: a, uplink: {rate: 1Mbps}}\n  - name: b\nflows:\n  - {name: " + flow + ", kind: media, from: a, to: b}\n"
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ref.yaml", flows("ref", "", "video"))
	write("other.yaml", flows("other", "", "audio-ish"))
	write("nested.yaml", flows("nested", "ref.yaml", "video"))
	write("call.yaml", "name: call\nduration: 10s\nparticipants:\n  - {name: a}\n")
	write("loop.yaml", flows("loop", "loop.yaml", "video"))
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"relative file", flows("s", "ref.yaml", "video"), ""},
		{"built-in", flows("video", "rfc8867/5.3_reference", "forward"), ""},
		{"missing", flows("s", "nope.yaml", "video"), "t.yaml:4: reference: \"nope.yaml\" does not load"},
		{"not flows", flows("s", "call.yaml", "video"), "t.yaml:4: reference: \"call.yaml\" is a sfu scenario; a reference must be a flows scenario"},
		{"nested", flows("s", "nested.yaml", "video"), "t.yaml:4: reference: \"nested.yaml\" has a reference of its own"},
		{"a device", flows("s", "/dev/zero", "video"), "t.yaml:4: reference: \"/dev/zero\" is not a regular file"},
		{"a directory", flows("s", ".", "video"), "t.yaml:4: reference: \".\" is not a regular file"},
		{"names itself", flows("s", "loop.yaml", "video"), "t.yaml:4: reference: \"loop.yaml\" has a reference of its own"},
		{"no twin", flows("s", "other.yaml", "video"), "t.yaml:4: reference: \"other.yaml\" has no media flow \"video\" to compare with"},
		{"call scenario", "name: c\nduration: 10s\nreference: ref.yaml\nparticipants:\n  - {name: a}\n", "t.yaml:3: reference: reference applies to the flows topology"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(filepath.Join(dir, "t.yaml"), []byte(tc.yaml))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.ReferenceScenario == nil {
					t.Fatal("reference not loaded")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
