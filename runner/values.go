package runner

import (
	"math"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// Value is one value of a metric in a report: of one participant, stream,
// flow or bottleneck link, named by Subject ("bob", "alice->bob video",
// "media-1"). NaN means not measured.
type Value struct {
	Subject string
	Value   float64
}

// MetricValues returns every value of metric in rep, the way a check
// would read it (metric_values.go, flows_report.go), in the report's
// order: one per participant, per stream the metric exists for, per flow
// or per link. "layer" (read at a time) and "negotiated" (one value per
// negotiation) have no single value per subject and return nil, as does a
// name analysis.Metrics lacks.
func MetricValues(rep *reports.Report, metric string) []Value {
	if rep == nil || metric == "layer" || metric == "negotiated" {
		return nil
	}
	var out []Value
	if rep.Scenario.Topology == scenarios.TopologyFlows {
		def, ok := analysis.LookupMetric(metric, true)
		if !ok || rep.Bandwidth == nil {
			return nil
		}
		if def.Scope == analysis.ScopeLink {
			for _, l := range rep.Bandwidth.Links {
				out = append(out, Value{l.Name, linkValue(l, metric)})
			}
			return out
		}
		for _, f := range rep.Bandwidth.Flows {
			out = append(out, Value{f.Name, flowValue(f, metric)})
		}
		return out
	}
	def, ok := analysis.LookupMetric(metric, false)
	if !ok {
		return nil
	}
	if def.Scope == analysis.ScopeParticipant {
		for _, p := range rep.Participants {
			out = append(out, Value{p.Name, participantValue(p, metric)})
		}
		return out
	}
	for _, st := range rep.Streams {
		if !def.ExistsFor(st.Kind) {
			continue
		}
		v := streamValue(st, metric)
		if math.IsInf(v, 0) {
			v = math.NaN()
		}
		out = append(out, Value{st.From + "->" + st.To + " " + st.Kind, v})
	}
	return out
}
