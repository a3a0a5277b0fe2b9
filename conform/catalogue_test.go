package conform

import (
	"bytes"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite conformance.yaml (and the results golden file and docs table)")

// specComment is one Testname/Description comment block.
type specComment struct {
	name, description, pos string
}

// specComments reads every comment block with a "Testname:" line in the
// package's non-test files.
func specComments(t *testing.T) []specComment {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []specComment
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, cg := range af.Comments {
			text := cg.Text()
			if !strings.Contains(text, "Testname:") {
				continue
			}
			var sc specComment
			sc.pos = fset.Position(cg.Pos()).String()
			var desc []string
			inDesc := false
			for _, line := range strings.Split(text, "\n") {
				switch {
				case strings.HasPrefix(line, "Testname:"):
					sc.name = strings.Fields(strings.TrimPrefix(line, "Testname:"))[0]
				case strings.HasPrefix(line, "Description:"):
					inDesc = true
					desc = append(desc, strings.TrimSpace(strings.TrimPrefix(line, "Description:")))
				case inDesc && strings.TrimSpace(line) != "":
					desc = append(desc, strings.TrimSpace(line))
				}
			}
			sc.description = strings.Join(desc, " ")
			out = append(out, sc)
		}
	}
	return out
}

// catalogueYAML renders the catalogue: every check with its RFC section,
// level, labels and the description from its comment.
func catalogueYAML(t *testing.T) []byte {
	t.Helper()
	comments := specComments(t)
	byName := map[string]specComment{}
	for _, c := range comments {
		if c.name == "" || c.description == "" {
			t.Errorf("%s: comment block without a Testname or a Description", c.pos)
		}
		if _, dup := byName[c.name]; dup {
			t.Errorf("%s: Testname %s twice", c.pos, c.name)
		}
		byName[c.name] = c
	}
	used := map[string]bool{}
	var b bytes.Buffer
	b.WriteString("# The rtclab conform catalogue: every check, the RFC section it enforces and\n")
	b.WriteString("# what it requires in RFC 2119 words. Generated from the Testname/Description\n")
	b.WriteString("# comment above each check by `go test ./conform -run TestConformanceYAML -update`;\n")
	b.WriteString("# do not edit (TestConformanceYAML fails when it is stale).\n")
	for _, c := range Checks() {
		sc, ok := byName[c.ID]
		if !ok { // a family: "security-peer-NAME"
			for name, fam := range byName {
				if strings.HasSuffix(name, "-NAME") && strings.HasPrefix(c.ID, strings.TrimSuffix(name, "NAME")) {
					sc, ok = fam, true
				}
			}
		}
		if !ok {
			t.Errorf("check %s has no Testname comment", c.ID)
			continue
		}
		used[sc.name] = true
		word := strings.ToUpper(string(c.Level))
		if !strings.Contains(sc.description, word) {
			t.Errorf("%s: the description of %s (a %s) does not say %s", sc.pos, c.ID, c.Level, word)
		}
		for _, l := range c.AllLabels() {
			if !slices.Contains(Labels, l) {
				t.Errorf("check %s: label %q is not in the vocabulary %v", c.ID, l, Labels)
			}
		}
		fmt.Fprintf(&b, "- testname: %s\n  section: %q\n  level: %s\n  labels: [%s]\n  summary: %q\n  description: %q\n",
			c.ID, c.Section, c.Level, strings.Join(c.AllLabels(), ", "), c.Summary, sc.description)
	}
	for name, sc := range byName {
		if !used[name] {
			t.Errorf("%s: Testname %s names no check", sc.pos, name)
		}
	}
	return b.Bytes()
}

// TestConformanceYAML keeps conformance.yaml equal to the comments.
func TestConformanceYAML(t *testing.T) {
	got := catalogueYAML(t)
	if *update {
		if err := os.WriteFile("conformance.yaml", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("conformance.yaml")
	if err != nil {
		t.Fatalf("%v (run go test ./conform -run TestConformanceYAML -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("conformance.yaml is stale: run go test ./conform -run TestConformanceYAML -update and review the diff")
	}
}
