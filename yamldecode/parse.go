package yamldecode

import (
	"bytes"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxSearchBytes bounds the bytes parsed again while looking for a syntax
// error's line; past it the parser's own line is used.
const maxSearchBytes = 4 << 20

// Parse parses data into a document node. The root is nil for an empty
// document. A syntax error is an *Error on the line where the problem is:
// yaml.v3 names the line where the enclosing block started, counted from
// zero for parser errors ("line 4" for a problem on line 5), so the line is
// found as the shortest prefix of the document that fails the same way.
func Parse(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	err := yaml.Unmarshal(data, &doc)
	if err == nil {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return &doc, nil
	}
	line, msg := splitYAMLError(err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	// The problem is on or after the line yaml.v3 names (where the
	// enclosing block starts), so the search starts there.
	size, budget := 0, maxSearchBytes
	for n := 1; n <= len(lines) && budget > 0; n++ {
		size += len(lines[n-1])
		if n < line {
			continue
		}
		budget -= size
		var prefix yaml.Node
		perr := yaml.Unmarshal(data[:size], &prefix)
		if perr == nil {
			continue
		}
		if _, m := splitYAMLError(perr); m == msg {
			line = n
			break
		}
	}
	return nil, &Error{Line: line, Msg: msg}
}

// splitYAMLError takes yaml.v3's "yaml: line N: msg" apart.
func splitYAMLError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return 0, msg
	}
	num, text, ok := strings.Cut(rest, ": ")
	n, convErr := strconv.Atoi(num)
	if !ok || convErr != nil {
		return 0, msg
	}
	return n, text
}

// LineOf returns the line of the node at path ("participants", 1, "nat")
// under root (a document or any node), or of its deepest existing
// ancestor: the line a problem found after decoding is reported on.
func LineOf(root *yaml.Node, path ...any) int {
	n := root
	if n == nil {
		return 0
	}
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
			if n.Kind == yaml.SequenceNode && s >= 0 && s < len(n.Content) {
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
