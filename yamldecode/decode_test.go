package yamldecode

import (
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type link struct {
	Loss  *float64 `yaml:"loss"`
	Delay string   `yaml:"delay"`
}

type common struct {
	Seed int64 `yaml:"seed"`
}

type upper struct {
	Value string
}

// UnmarshalYAML takes only "a" or "b", the way scenario enums do.
func (u *upper) UnmarshalYAML(n *yaml.Node) error {
	if n.Value != "a" && n.Value != "b" {
		return &Error{Line: n.Line, Msg: fmt.Sprintf("%q (allowed: a, b)", n.Value)}
	}
	u.Value = strings.ToUpper(n.Value)
	return nil
}

type participant struct {
	Name     string            `yaml:"name"`
	Downlink link              `yaml:"downlink"`
	Uplink   *link             `yaml:"uplink"`
	Kind     upper             `yaml:"kind"`
	Tags     map[string]string `yaml:"tags"`
	Ignored  string            `yaml:"-"`
}

type doc struct {
	common       `yaml:",inline"`
	Name         string        `yaml:"name"`
	On           bool          `yaml:"on"`
	Participants []participant `yaml:"participants"`
}

func decode(t *testing.T, src string) (doc, error) {
	t.Helper()
	var d doc
	root, err := Parse([]byte(src))
	if err != nil {
		return d, err
	}
	return d, Decode(root, &d)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // each error's text, in order
	}{
		{"typo gets did-you-mean, on the key's own line and path",
			"name: x\nparticipants:\n  - name: a\n    downlnk:\n      loss: 0.1\n",
			[]string{`line 4: participants[0].downlnk: unknown field "downlnk" (allowed: name, downlink, uplink, kind, tags); did you mean "downlink"?`}},
		{"unknown word lists what is allowed",
			"colour: red\n",
			[]string{`line 1: colour: unknown field "colour" (allowed: seed, name, on, participants)`}},
		{"nested typo in a flow mapping",
			"participants:\n  - {name: a, uplink: {los: 0.1}}\n",
			[]string{`line 2: participants[0].uplink.los: unknown field "los" (allowed: loss, delay); did you mean "loss"?`}},
		{"every problem reported",
			"seed: abc\non: maybe\nparticipants: a\n",
			[]string{`line 1: seed: "abc" is not valid here: want a whole number`,
				`line 2: on: "maybe" is not valid here: want true or false`,
				`line 3: participants: "a" is not valid here: want a list`}},
		{"mapping where a value belongs",
			"name: {a: 1}\n",
			[]string{`line 1: name: a mapping is not valid here: want a single value`}},
		{"key given twice",
			"name: a\nseed: 1\nname: b\n",
			[]string{`line 3: name: given twice (first on line 1)`}},
		{"UnmarshalYAML error placed under its field",
			"participants:\n  - name: a\n  - name: b\n    kind: c\n",
			[]string{`line 4: participants[1].kind: "c" (allowed: a, b)`}},
		{"syntax error on its own line, not the block's",
			"name: t\nseed: 1\nparticipants:\n  - name: alice\n   seed: 3\n",
			[]string{`line 5: did not find expected '-' indicator`}},
		{"unclosed flow",
			"name: [unclosed\n",
			[]string{`line 1: did not find expected ',' or ']'`}},
		{"tab indentation",
			"name: t\nparticipants:\n\t- name: a\n",
			[]string{`line 3: found character that cannot start any token`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.yaml)
			got := Errors(err)
			if len(got) != len(tt.want) {
				t.Fatalf("%d errors %v, want %d", len(got), err, len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].Error() != w {
					t.Errorf("error %d\n  %s\nwant\n  %s", i, got[i], w)
				}
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	d, err := decode(t, `
seed: 0x10
name: lab
on: true
participants:
  - name: a
    downlink: {loss: 0.25, delay: 40ms}
    kind: b
    tags: {x: "1"}
  - name: b
    uplink: ~
    downlink:
    kind: ~
`)
	if err != nil {
		t.Fatal(err)
	}
	p := d.Participants
	if d.Seed != 16 || d.Name != "lab" || !d.On || len(p) != 2 || *p[0].Downlink.Loss != 0.25 ||
		p[0].Downlink.Delay != "40ms" || p[0].Kind.Value != "B" || p[0].Tags["x"] != "1" || p[1].Uplink != nil ||
		p[1].Downlink.Loss != nil || p[1].Kind.Value != "" {
		t.Errorf("decoded %+v", d)
	}
	if root, err := Parse([]byte("# only a comment\n")); root != nil || err != nil {
		t.Errorf("empty document: %v, %v", root, err)
	}
}

func TestClosest(t *testing.T) {
	opts := []string{"downlink", "uplink", "nat", "name", "publish"}
	for _, tt := range []struct{ word, want string }{
		{"downlnk", "downlink"},
		{"uplnik", "uplink"}, // a swap is one edit
		{"nmae", "name"},
		{"colour", ""},
		{"x", ""},
	} {
		if got := Closest(tt.word, opts); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

// Anchors, aliases and merge keys work as in yaml.v3: the mapping's own
// keys override merged ones, and expansions are bounded.
func TestDecodeAliases(t *testing.T) {
	d, err := decode(t, `
participants:
  - &base
    name: a
    downlink: {loss: 0.5, delay: 40ms}
  - <<: *base
    name: b
  - name: c
    downlink: *dl
x: &dl {loss: 0.1}
`)
	if err == nil {
		t.Fatal("alias before its anchor and an unknown key x: no error")
	}
	d, err = decode(t, `
participants:
  - &base
    name: a
    downlink: &dl {loss: 0.5, delay: 40ms}
  - <<: *base
    name: b
  - name: c
    downlink: *dl
`)
	if err != nil {
		t.Fatal(err)
	}
	p := d.Participants
	if len(p) != 3 || p[1].Name != "b" || *p[1].Downlink.Loss != 0.5 || p[2].Downlink.Delay != "40ms" {
		t.Errorf("decoded %+v", p)
	}

	// Six levels of ten aliases each would be a million names.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	var bomb struct {
		A0 []string             `yaml:"a0"`
		A1 [][]string           `yaml:"a1"`
		A2 [][][]string         `yaml:"a2"`
		A3 [][][][]string       `yaml:"a3"`
		A4 [][][][][]string     `yaml:"a4"`
		A5 [][][][][][]string   `yaml:"a5"`
		A6 [][][][][][][]string `yaml:"a6"`
	}
	root, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	err = Decode(root, &bomb)
	if got := Errors(err); len(got) != 1 || !strings.Contains(got[0].Msg, "alias expansions") {
		t.Errorf("alias bomb: %v", err)
	}
}

type Inner struct {
	Rate string `yaml:"rate"`
}

// An inlined pointer is allocated when one of its keys is given; one that
// cannot be set (unexported) is an error, not a panic.
func TestDecodeInlinePointer(t *testing.T) {
	var v struct {
		*Inner `yaml:",inline"`
		Name   string `yaml:"name"`
	}
	root, err := Parse([]byte("name: x\nrate: 1Mbps\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Decode(root, &v); err != nil || v.Inner == nil || v.Rate != "1Mbps" || v.Name != "x" {
		t.Errorf("decoded %+v, %v", v, err)
	}
	var hidden struct {
		*inner `yaml:",inline"`
	}
	root, err = Parse([]byte("rate: 1Mbps\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Decode(root, &hidden); err == nil || !strings.Contains(err.Error(), "cannot be set") {
		t.Errorf("a field behind an unexported pointer: %v", err)
	}
}

type inner struct {
	Rate string `yaml:"rate"`
}
