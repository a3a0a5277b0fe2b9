package reports

import (
	"bytes"
	"fmt"
	"strings"
)

// bandwidthRow is one flow of a bandwidth test case, formatted for the
// terminal and the HTML report alike.
type bandwidthRow struct {
	Name, Kind, Path, Link, Rate, Receive, RampUp, Convergence, Oscillation,
	Oscillations, QueueP50, QueueP95, Loss, Residual, Overshoot string
}

// referenceRow sets one media flow against its twin in the reference
// run (RFC 8867 section 5.3), formatted.
type referenceRow struct {
	Name, Rate, RefRate, RateRatio, QueueP95, RefQueueP95, QueueP95Diff,
	Convergence, RefConvergence, Residual, RefResidual string
}

// referenceRows pairs every media flow compared with the reference run
// with its twin there.
func referenceRows(bw *Bandwidth) []referenceRow {
	if bw.Reference == nil {
		return nil
	}
	var out []referenceRow
	for _, f := range bw.Flows {
		for _, g := range bw.Reference.Flows {
			if f.RateVsReference == nil || g.Name != f.Name {
				continue
			}
			out = append(out, referenceRow{
				Name: f.Name, Rate: fixed(f.RateKbps, 0), RefRate: fixed(g.RateKbps, 0), RateRatio: optional(f.RateVsReference, 2),
				QueueP95: optional(f.QueueDelayP95MS, 1), RefQueueP95: optional(g.QueueDelayP95MS, 1), QueueP95Diff: signed(f.QueueDelayP95VsReferenceMS),
				Convergence: lowerBound(f.ConvergenceS, f.ConvergedAll), RefConvergence: lowerBound(g.ConvergenceS, g.ConvergedAll),
				Residual: optionalPercent(f.ResidualLossFraction), RefResidual: optionalPercent(g.ResidualLossFraction),
			})
		}
	}
	return out
}

// signed renders a difference with its sign, one decimal.
func signed(v *float64) string {
	if v == nil {
		return none
	}
	return fmt.Sprintf("%+.1f", *v)
}

// linkRow is one bottleneck link, formatted.
type linkRow struct {
	Name, Flows, Utilization, Fairness1s, Fairness5s, Fairness20s string
}

func optionalPercent(v *float64) string {
	if v == nil {
		return none
	}
	return percent(*v)
}

// lowerBound renders a time, with ">" when it is only a lower bound.
func lowerBound(v *float64, exact bool) string {
	s := optional(v, 1)
	if v != nil && !exact {
		s = ">" + s
	}
	return s
}

func bandwidthRows(bw *Bandwidth) ([]linkRow, []bandwidthRow) {
	var links []linkRow
	for _, l := range bw.Links {
		links = append(links, linkRow{
			Name: l.Name, Flows: strings.Join(l.Flows, ", "),
			Utilization: optionalPercent(l.Utilization),
			Fairness1s:  optional(l.Fairness1s, 2), Fairness5s: optional(l.Fairness5s, 2),
			Fairness20s: optional(l.Fairness20s, 2),
		})
	}
	var flows []bandwidthRow
	for _, f := range bw.Flows {
		flows = append(flows, bandwidthRow{
			Name: f.Name, Kind: f.Kind, Path: f.From + "->" + f.To, Link: orNone(f.Link),
			Rate: fixed(f.RateKbps, 0), Receive: fixed(f.ReceiveKbps, 0),
			RampUp: lowerBound(f.RampUpS, f.RampUpConverged), Convergence: lowerBound(f.ConvergenceS, f.ConvergedAll),
			Oscillation: optional(f.Oscillation, 2), Oscillations: optional(f.Oscillations, 0),
			QueueP50: optional(f.QueueDelayP50MS, 1), QueueP95: optional(f.QueueDelayP95MS, 1),
			Loss: optionalPercent(f.LossFraction), Residual: optionalPercent(f.ResidualLossFraction),
			Overshoot: optional(f.EstimateOvershoot, 2),
		})
	}
	return links, flows
}

// writeBandwidth writes the RFC 8868 metrics of a bandwidth test case:
// one table of bottleneck links, one of flows.
func writeBandwidth(b *bytes.Buffer, bw *Bandwidth) {
	links, flows := bandwidthRows(bw)
	b.WriteString("\nBottleneck links (RFC 8868)\n")
	var t table
	t.row("LINK", "UTIL %", "FAIR 1S", "FAIR 5S", "FAIR 20S", "FLOWS")
	for _, l := range links {
		t.row(l.Name, l.Utilization, l.Fairness1s, l.Fairness5s, l.Fairness20s, l.Flows)
	}
	t.writeTo(b)
	b.WriteString("\nFlows (RFC 8868)\n")
	t = table{}
	t.row("FLOW", "KIND", "PATH", "KBPS", "RECV KBPS", "RAMP S", "CONV S", "OSC", "SWINGS", "QDELAY P50", "P95 MS", "LOSS %", "RESID %", "EST/SHARE")
	for _, f := range flows {
		t.row(f.Name, f.Kind, f.Path, f.Rate, f.Receive, f.RampUp, f.Convergence, f.Oscillation, f.Oscillations, f.QueueP50, f.QueueP95, f.Loss, f.Residual, f.Overshoot)
	}
	t.writeTo(b)
	fmt.Fprintf(b, "  (FAIR: min/max throughput of GCC flows in static periods; RAMP: start to within 20%% of its share;\n   CONV: longest after a change; OSC: rate variation when steady; SWINGS: 200 ms rate between 1/2 and 2x share within 500 ms;\n   EST/SHARE: 95th percentile of the estimate over the flow's share of the capacity)\n")
	if rows := referenceRows(bw); len(rows) > 0 {
		fmt.Fprintf(b, "\nCompared with the reference run %s (RFC 8867 section 5.3)\n", bw.Reference.Scenario)
		t = table{}
		t.row("FLOW", "KBPS", "REF KBPS", "RATIO", "P95 MS", "REF P95", "DIFF MS", "CONV S", "REF CONV", "RESID %", "REF RESID %")
		for _, r := range rows {
			t.row(r.Name, r.Rate, r.RefRate, r.RateRatio, r.QueueP95, r.RefQueueP95, r.QueueP95Diff, r.Convergence, r.RefConvergence, r.Residual, r.RefResidual)
		}
		t.writeTo(b)
	}
}

// bandwidthView is the bandwidth section of the HTML report.
type bandwidthView struct {
	Links   []linkRow
	Flows   []bandwidthRow
	Changes []changeRow
	// Reference names the reference run; References compares with it.
	Reference  string
	References []referenceRow
}

type changeRow struct {
	Flow, At, Change, Share, Took string
	Converged                     bool
}

func newBandwidthView(bw *Bandwidth) *bandwidthView {
	if bw == nil {
		return nil
	}
	v := &bandwidthView{}
	v.Links, v.Flows = bandwidthRows(bw)
	if bw.Reference != nil {
		v.Reference, v.References = bw.Reference.Scenario, referenceRows(bw)
	}
	for _, f := range bw.Flows {
		for _, c := range f.Convergence {
			v.Changes = append(v.Changes, changeRow{
				Flow: f.Name, At: fixed(c.AtS, 1), Change: c.Change, Share: fixed(c.ShareKbps, 0),
				Took: fixed(c.S, 1), Converged: c.Converged,
			})
		}
	}
	return v
}
