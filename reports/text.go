package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/rtclab/rtclab/analysis"
)

// WriteText writes the summary a terminal shows at the end of a run: a
// verdict line such as
//
//	PASS quickstart (virtual clock, 30s scenario in 1.8s wall)
//
// (FAIL, or PARTIAL for an interrupted run), then aligned tables of
// participants and streams (LOSS % after retransmissions repaired what they
// could, RAW % before), then every check marked ✓ or ✗ with the reason
// of each failure. Values that were not measured show as "—".
func WriteText(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("write text: nil report")
	}
	var b bytes.Buffer
	b.WriteString(headline(r) + "\n")
	if r.Partial {
		b.WriteString(partialNote(r) + "\n")
	}
	if r.Bandwidth != nil {
		writeBandwidth(&b, r.Bandwidth)
	} else {
		writeParticipants(&b, r.Participants)
		if len(r.Streams) > maxLines {
			writeRoomSummary(&b, r)
		} else {
			writeStreams(&b, r.Streams)
			writeMedia(&b, r)
		}
		writePrivacy(&b, r.Privacy)
		writeBrowsers(&b, r.Browsers)
	}
	writeChecks(&b, r.Checks)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write text: %w", err)
	}
	return nil
}

func writeParticipants(b *bytes.Buffer, ps []Participant) {
	if len(ps) == 0 {
		b.WriteString("\nParticipants: none\n")
		return
	}
	b.WriteString("\nParticipants\n")
	var t table
	t.row("NAME", "NAT", "CONNECTED", "PRESENT %", "TTC MS", "PATH")
	for _, p := range ps {
		t.row(orNone(p.Name), orNone(p.NAT), connectedText(p), fixed(p.ConnectedFraction*100, 1), optional(p.TimeToConnectMS, 0), pairText(p.SelectedPair))
	}
	t.writeTo(b)
}

func writeStreams(b *bytes.Buffer, ss []Stream) {
	if len(ss) == 0 {
		b.WriteString("\nStreams: none\n")
		return
	}
	b.WriteString("\nStreams\n")
	var t table
	t.row("STREAM", "KIND", "CODEC", "RECV/SENT", "LOSS %", "RAW %", "JITTER MS", "RTT MS", "KBPS", "NACK", "PLI")
	for _, s := range ss {
		t.row(streamPath(Stream{From: orUnknown(s.From), To: orUnknown(s.To), Connection: s.Connection}), orNone(s.Kind), orNone(shortCodec(s.Codec)),
			streamFigure(s, "packets_received", s.PacketsReceived)+"/"+streamFigure(s, "packets_sent", s.PacketsSent),
			figure(s, "loss_fraction", func() string { return lossPercent(s, s.LossFraction) }),
			figure(s, "raw_loss_fraction", func() string { return lossPercent(s, s.RawLossFraction) }),
			figure(s, "jitter_ms", func() string { return fixed(s.JitterMS, 1) }), optional(s.RTTMS, 1),
			figure(s, "bitrate_kbps", func() string { return fixed(s.BitrateKbps, 0) }),
			streamFigure(s, "nack_count", s.NACKCount), streamFigure(s, "pli_count", s.PLICount))
	}
	t.writeTo(b)
}

func writeChecks(b *bytes.Buffer, cs []analysis.Check) {
	if len(cs) == 0 {
		b.WriteString("\nChecks: none defined\n")
		return
	}
	fmt.Fprintf(b, "\nChecks (%s)\n", countsText(checkCounts(cs)))
	var t table
	var known []analysis.Check
	kinds := slices.ContainsFunc(cs, func(c analysis.Check) bool { return checkKind(c) != "" })
	for _, c := range cs {
		mark, reason := "✓", ""
		switch c.Verdict {
		case analysis.Pass:
		case analysis.KnownFailure:
			mark, reason = "~", "known failure"
			known = append(known, c)
		default:
			mark, reason = "✗", c.Reason
			if reason == "" {
				reason = "failed"
			}
		}
		cells := []string{mark + " " + orNone(c.Name), checkValue(c.Value), orNone(c.Threshold)}
		if kinds {
			cells = append(cells, orNone(checkKind(c)))
		}
		t.row(append(cells, reason)...)
	}
	t.writeTo(b)
	for _, c := range known {
		fmt.Fprintf(b, "  ~ %s: %s (%s)\n", c.Name, c.Known.Reason, c.Known.Link)
	}
}

// table lays rows out in columns two spaces apart, indented by two.
type table struct{ rows [][]string }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// writeTo writes the aligned rows to b with no trailing spaces.
func (t *table) writeTo(b *bytes.Buffer) {
	var aligned bytes.Buffer
	tw := tabwriter.NewWriter(&aligned, 0, 0, 2, ' ', 0)
	for _, cells := range t.rows {
		fmt.Fprintln(tw, "  "+strings.Join(cells, "\t")+"\t")
	}
	tw.Flush() // writes to a bytes.Buffer, which cannot fail
	for line := range strings.Lines(aligned.String()) {
		b.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
}

// orNone returns s, or "—" when s is empty.
func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}
