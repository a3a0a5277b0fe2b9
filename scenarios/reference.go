package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// validateReference loads the scenario a flows scenario names in
// reference: (RFC 8867 section 5.3: "logs are compared with the
// reference case, i.e, when the backward channel has no impairments").
// A relative path is taken from the scenario's directory; a built-in
// name ("rfc8867/5.3_reference") works anywhere. The reference must be
// a flows scenario without a reference of its own, with every media flow
// of this one under the same name, so each flow can be set against its
// twin.
func (s *Scenario) validateReference(bad func(string, ...any)) {
	if s.Reference == "" || s.skipReference {
		return
	}
	if s.Topology != TopologyFlows {
		bad("reference applies to the flows topology (RFC 8867 section 5.3's reference case)", "reference")
		return
	}
	ref := s.Reference
	if _, _, ok := readBuiltin(ref); !ok {
		if !filepath.IsAbs(ref) && s.File != "" && !strings.HasPrefix(s.File, "embedded:") {
			ref = filepath.Join(filepath.Dir(s.File), ref)
		}
		// Not a device or a pipe: /dev/zero would be read forever.
		if fi, err := os.Stat(ref); err == nil && !fi.Mode().IsRegular() {
			bad(fmt.Sprintf("%q is not a regular file", s.Reference), "reference")
			return
		}
	}
	data, name, err := Read(ref)
	var r *Scenario
	if err == nil {
		r, err = parse(name, data, false)
	}
	switch {
	case err != nil:
		bad(fmt.Sprintf("%q does not load: %v", s.Reference, err), "reference")
		return
	case r.Topology != TopologyFlows:
		bad(fmt.Sprintf("%q is a %s scenario; a reference must be a flows scenario", s.Reference, r.Topology), "reference")
		return
	case r.Reference != "":
		bad(fmt.Sprintf("%q has a reference of its own; a reference runs alone", s.Reference), "reference")
		return
	}
	for _, f := range s.Flows {
		if f.Kind != FlowMedia {
			continue
		}
		found := false
		for _, g := range r.Flows {
			found = found || g.Name == f.Name && g.Kind == FlowMedia
		}
		if !found {
			bad(fmt.Sprintf("%q has no media flow %q to compare with", s.Reference, f.Name), "reference")
		}
	}
	s.ReferenceScenario = r
}
