package reports

import (
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"

	"github.com/rtclab/rtclab/analysis"
)

//go:embed report.html.tmpl
var htmlSource string

// WriteHTML writes r as one self-contained HTML page: the verdict first,
// then the scenario, checks, participants, streams, the plots (inlined as
// data: URIs) and the events. The page loads nothing from anywhere and
// needs no JavaScript. plots are usually Plots(r); nil leaves them out.
func WriteHTML(w io.Writer, r *Report, plots []Plot) error {
	if r == nil {
		return errors.New("write html: nil report")
	}
	// The template is parsed per call rather than held in a package
	// variable; it is small and this keeps the package free of state.
	t, err := template.New("report").Parse(htmlSource)
	if err != nil {
		return fmt.Errorf("parse html template: %w", err)
	}
	if err := t.Execute(w, newHTMLView(r, plots)); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

// htmlView is the report with every value already formatted, so the
// template only lays things out.
type htmlView struct {
	Title        string
	Verdict      string // PASS, FAIL, ...
	VerdictClass string // "pass", "fail" or "unknown"
	Summary      string // "4 checks: 2 passed, 2 failed"
	Partial      bool
	Error        string // why a partial run stopped
	Description  string
	Scenario     []field
	Checks       []checkRow
	Participants []participantRow
	Streams      []streamRow
	Media        template.HTML // frames, freezes, codecs (media_table.go)
	Privacy      template.HTML // what each party saw (privacy.go)
	Browsers     template.HTML // browsers' getStats against the capture (browser.go)
	Plots        []plotView
	Events       []eventRow
	Bandwidth    *bandwidthView // bandwidth test cases only
	EventsOpen   bool
	EventsLabel  string // "6 events"
	Footer       string
	CSS          template.CSS // HouseCSS
}

type field struct {
	Name, Value string
	Wide        bool // spans two grid columns
}

type checkRow struct {
	Name, Value, Threshold, Verdict, Reason string
	// Kind says whose bound it is: RFC criterion or rtclab guideline.
	Kind string
	// Known marks a known failure, Failed a check that fails the run.
	Known, Failed bool
}

type participantRow struct {
	Name, NAT, Address, Connected, TTC, Peer, Pair, PairAddresses string
	Down                                                          bool
}

type streamRow struct {
	From, To, Kind, Codec, Sent, Received, Loss, RawLoss, Jitter, RTT, Bitrate, NACK, PLI string
}

type plotView struct {
	Title, File string
	Src         template.URL
	Small       bool // a small multiple: shown two abreast
}

type eventRow struct{ Time, Source, Kind, Detail string }

// eventsOpenMax is the most events shown expanded; longer lists start
// collapsed.
const eventsOpenMax = 30

func newHTMLView(r *Report, plots []Plot) htmlView {
	v := htmlView{
		Title:       r.Scenario.Name,
		Verdict:     verdictLabel(r.Verdict),
		Partial:     r.Partial,
		Error:       r.Error,
		Description: r.Scenario.Description,
		EventsOpen:  len(r.Events) <= eventsOpenMax,
		EventsLabel: plural(len(r.Events), "event"),
		Footer:      footer(r),
		CSS:         HouseCSS(),
	}
	if v.Title == "" {
		v.Title = "(unnamed scenario)"
	}
	switch r.Verdict {
	case analysis.Pass, analysis.Fail:
		v.VerdictClass = r.Verdict
	default:
		v.VerdictClass = "unknown"
	}
	v.Summary = plural(len(r.Checks), "check") + ": " + countsText(checkCounts(r.Checks))

	s := r.Scenario
	v.Scenario = []field{
		{Name: "Scenario", Value: v.Title},
		{Name: "File", Value: s.File, Wide: true},
		{Name: "Topology", Value: s.Topology},
		{Name: "Clock", Value: s.Clock},
		{Name: "Seed", Value: fmt.Sprint(s.Seed)},
		{Name: "Duration", Value: seconds(s.DurationS) + " scenario time"},
		{Name: "Wall time", Value: seconds(r.WallSeconds)},
		{Name: "Started at", Value: r.StartedAt, Wide: true},
	}
	if s.Backend != "" {
		v.Scenario = append(v.Scenario, field{Name: "Network", Value: s.Backend + " backend (network namespaces)"})
	}

	for _, c := range r.Checks {
		v.Checks = append(v.Checks, checkRow{
			Name:      c.Name,
			Value:     checkValue(c.Value),
			Threshold: c.Threshold,
			Verdict:   verdictLabel(c.Verdict),
			Reason:    c.Reason,
			Kind:      checkKind(c),
			Known:     c.Verdict == analysis.KnownFailure,
			Failed:    c.Failed(),
		})
	}
	for _, p := range r.Participants {
		ttc := optional(p.TimeToConnectMS, 0)
		if ttc != none {
			ttc += " ms"
		}
		v.Participants = append(v.Participants, participantRow{
			Name:          p.Name,
			NAT:           p.NAT,
			Address:       p.Address,
			Connected:     connectedText(p),
			TTC:           ttc,
			Peer:          p.Peer,
			Pair:          pairText(p.SelectedPair),
			PairAddresses: pairAddresses(p.SelectedPair),
			Down:          !p.Connected,
		})
	}
	for _, st := range r.Streams {
		v.Streams = append(v.Streams, streamRow{
			From:     st.From,
			To:       connectionOf(st.To, st.Connection),
			Kind:     st.Kind,
			Codec:    st.Codec,
			Sent:     streamFigure(st, "packets_sent", st.PacketsSent),
			Received: streamFigure(st, "packets_received", st.PacketsReceived),
			Loss:     figure(st, "loss_fraction", func() string { return lossPercent(st, st.LossFraction) }),
			RawLoss:  figure(st, "raw_loss_fraction", func() string { return lossPercent(st, st.RawLossFraction) }),
			Jitter:   figure(st, "jitter_ms", func() string { return fixed(st.JitterMS, 1) }),
			RTT:      optional(st.RTTMS, 1),
			Bitrate:  figure(st, "bitrate_kbps", func() string { return fixed(st.BitrateKbps, 0) }),
			NACK:     streamFigure(st, "nack_count", st.NACKCount),
			PLI:      streamFigure(st, "pli_count", st.PLICount),
		})
	}
	for _, p := range plots {
		v.Plots = append(v.Plots, plotView{
			Title: p.Title,
			File:  p.File,
			Small: p.Panel,
			// The URI is built here from bytes we encode ourselves, so it
			// is safe to mark as a URL for html/template.
			Src: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(p.PNG)),
		})
	}
	v.Media = mediaHTML(r)
	v.Privacy = privacyHTML(r.Privacy)
	v.Browsers = browsersHTML(r.Browsers)
	v.Bandwidth = newBandwidthView(r.Bandwidth)
	for _, e := range r.Events {
		v.Events = append(v.Events, eventRow{Time: clockTime(e.T), Source: e.Source, Kind: e.Kind, Detail: e.Detail})
	}
	return v
}

func footer(r *Report) string {
	tool := r.Tool
	if tool == "" {
		tool = "rtclab"
	}
	schema := r.Schema
	if schema == "" {
		schema = Schema
	}
	return "Generated by " + tool + " · schema " + schema
}
