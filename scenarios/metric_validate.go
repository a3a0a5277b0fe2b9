package scenarios

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/yamldecode"
)

// validateMetricKind checks that expect entry i's stream metric can exist
// for the streams it selects: a metric of one media kind (mos for audio,
// fps for video) against the other kind, or against publishers that send
// no such media, and a simulcast metric without a simulcast publisher, are
// input errors, not checks that fail after the run.
func (s *Scenario) validateMetricKind(root *yaml.Node, i int, def analysis.Metric) []error {
	e := s.Expect[i]
	if def.Scope != analysis.ScopeStream {
		return nil
	}
	bad := func(msg string, field string) []error {
		path := []any{"expect", i, field}
		return []error{&Error{File: s.File, Line: yamldecode.LineOf(root, path...), Field: fieldPath(path), Msg: msg}}
	}
	if def.Kind != analysis.KindAny && e.Kind != "" && e.Kind != string(def.Kind) {
		return bad(fmt.Sprintf("%s exists for %s streams only, not %s (allowed kind: %s)", def.Name, def.Kind, e.Kind, def.Kind), "kind")
	}
	kind := e.Kind
	if def.Kind != analysis.KindAny {
		kind = string(def.Kind)
	}
	found, simulcast := false, false
	for _, p := range s.Participants {
		if e.From != "" && p.Name != e.From {
			continue
		}
		if kind != "" && !slices.Contains(p.Publish, kind) {
			continue
		}
		found = true
		simulcast = simulcast || p.Simulcast
	}
	switch {
	case !found && kind != "" && e.From != "":
		return bad(fmt.Sprintf("%s measures %s streams, but %s publishes no %s", def.Name, kind, e.From, kind), "from")
	case !found && kind != "":
		return bad(fmt.Sprintf("%s measures %s streams, but no participant publishes %s", def.Name, kind, kind), "metric")
	case def.Simulcast && !simulcast:
		return bad(fmt.Sprintf("%s exists for simulcast streams only, and no matching publisher sets simulcast: true", def.Name), "metric")
	}
	return nil
}
