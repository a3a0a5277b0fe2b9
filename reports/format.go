package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rtclab/rtclab/analysis"
)

// none stands for a value that was not measured (a null in report.json).
const none = "—"

// verdictWord is the word that leads every rendering of a report: PASS,
// FAIL, or PARTIAL for an interrupted run, whatever its checks say.
func verdictWord(r *Report) string {
	if r.Partial {
		return "PARTIAL"
	}
	return verdictLabel(r.Verdict)
}

// verdictLabel renders a verdict ("pass", "fail") in capitals; anything
// else is shown as it is, or as "UNKNOWN" when empty.
func verdictLabel(v string) string {
	if v == "" {
		return "UNKNOWN"
	}
	return strings.ToUpper(v)
}

// headline is the one-line summary of a run, e.g.
// "PASS quickstart (virtual clock, 30s scenario in 1.8s wall)".
func headline(r *Report) string {
	name := r.Scenario.Name
	if name == "" {
		name = "(unnamed scenario)"
	}
	clock := r.Scenario.Clock
	if clock == "" {
		clock = "unknown"
	}
	if r.Scenario.Backend != "" {
		clock = r.Scenario.Backend + " backend, " + clock // "kernel backend, real clock"
	}
	run := "in"
	if r.Partial {
		run = "interrupted after"
	}
	note := ""
	if e := r.Scenario.Expectations; e != nil && *e == 0 {
		// A pass that checked nothing the scenario asked for says so.
		note = "; no checks, only the implicit media ones"
	}
	return fmt.Sprintf("%s %s (%s clock, %s scenario %s %s wall%s)",
		verdictWord(r), name, clock, seconds(r.Scenario.DurationS), run, seconds(r.WallSeconds), note)
}

// partialNote explains a partial run in one sentence.
func partialNote(r *Report) string {
	msg := "This run was interrupted; numbers cover only the part that ran."
	if r.Error != "" {
		msg = "This run was interrupted (" + r.Error + "); numbers cover only the part that ran."
	}
	return msg
}

// checkCounts returns how many checks passed, failed (a known failure
// that passed included) and failed as declared (known failures).
func checkCounts(checks []analysis.Check) (passed, failed, known int) {
	for _, c := range checks {
		switch {
		case c.Verdict == analysis.Pass:
			passed++
		case c.Verdict == analysis.KnownFailure:
			known++
		default:
			failed++
		}
	}
	return passed, failed, known
}

// countsText is "3 passed, 1 failed", with ", 2 known failures" when
// there are any.
func countsText(passed, failed, known int) string {
	s := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if known > 0 {
		s += fmt.Sprintf(", %s", plural(known, "known failure"))
	}
	return s
}

// checkKind says whose bound a check applies and, for a known failure,
// where it is tracked: "RFC (RFC 8868 section 3 item 7)", "rtclab
// guideline (why)", "known failure: reason, link".
func checkKind(c analysis.Check) string {
	var s string
	switch c.Criterion {
	case analysis.CriterionRFC:
		s = "RFC criterion"
	case analysis.CriterionGuideline:
		s = "rtclab guideline"
	}
	if c.Source != "" {
		s = strings.TrimSpace(s + " (" + c.Source + ")")
	}
	return s
}

// seconds renders a duration in seconds with a precision that suits its
// size: "30s", "1.8s", "0.25s", "125s".
func seconds(s float64) string {
	switch {
	case math.IsNaN(s) || math.IsInf(s, 0):
		return "?s"
	case math.Abs(s) >= 100:
		return strconv.FormatFloat(s, 'f', 0, 64) + "s"
	case math.Abs(s) >= 10:
		return trimZeros(strconv.FormatFloat(s, 'f', 1, 64)) + "s"
	}
	return trimZeros(strconv.FormatFloat(s, 'f', 2, 64)) + "s"
}

// clockTime renders a scenario time in seconds as "m:ss.sss", or
// "h:mm:ss.sss" from one hour on.
func clockTime(t float64) string {
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return "?"
	}
	sign := ""
	if t < 0 {
		sign, t = "-", -t
	}
	ms := int64(math.Round(t * 1000))
	h, m, s := ms/3_600_000, ms/60_000%60, float64(ms%60_000)/1000
	if h > 0 {
		return fmt.Sprintf("%s%d:%02d:%06.3f", sign, h, m, s)
	}
	return fmt.Sprintf("%s%d:%06.3f", sign, m, s)
}

// value renders a measured number with about four significant digits and
// no exponent: "1203", "48.1", "0.0067".
func value(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return none
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1:
		return trimZeros(strconv.FormatFloat(v, 'f', 2, 64))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// fixed renders v with exactly prec decimals, or none for NaN/Inf.
func fixed(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return none
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// figure renders the stream's figure named (its JSON name) with show, or
// none when the stream has no value for it (Stream.Missing): a missing
// number never prints as 0.
func figure(s Stream, name string, show func() string) string {
	if !s.Has(name) {
		return none
	}
	return show()
}

// streamFigure renders a count of the stream, or none when missing.
func streamFigure(s Stream, name string, v uint64) string {
	return figure(s, name, func() string { return strconv.FormatUint(v, 10) })
}

// optional renders *v with fixed, or none for nil.
func optional(v *float64, prec int) string {
	if v == nil {
		return none
	}
	return fixed(*v, prec)
}

// checkValue renders a check's measured value, or none when unmeasured.
func checkValue(v *float64) string {
	if v == nil {
		return none
	}
	return value(*v)
}

// percent renders a fraction (0..1) as a percentage with two decimals.
func percent(f float64) string {
	return fixed(f*100, 2)
}

// lossPercent renders one of a stream's loss fractions, or none when the
// stream expected no packet at all (nothing was measured, so no loss).
func lossPercent(s Stream, f float64) string {
	if s.PacketsExpected == 0 && s.PacketsReceived == 0 {
		return none
	}
	return percent(f)
}

// pairText renders a selected candidate pair as "srflx -> relay (udp)",
// or none when there is no pair.
func pairText(p *CandidatePair) string {
	if p == nil {
		return none
	}
	s := orUnknown(p.Local)
	if p.RelayProtocol != "" {
		s += "/" + p.RelayProtocol // how the relay is reached: "relay/tcp"
	}
	s += " -> " + orUnknown(p.Remote)
	if p.Protocol != "" {
		s += " (" + p.Protocol + ")"
	}
	return s
}

// pairAddresses renders a selected pair's addresses as
// "10.0.0.2:50000 -> 203.0.113.7:3478", or "" when unknown.
func pairAddresses(p *CandidatePair) string {
	if p == nil || (p.LocalAddress == "" && p.RemoteAddress == "") {
		return ""
	}
	return orUnknown(p.LocalAddress) + " -> " + orUnknown(p.RemoteAddress)
}

// shortCodec drops the kind prefix of a codec MIME type: "video/VP8" is
// "VP8".
func shortCodec(codec string) string {
	if i := strings.IndexByte(codec, '/'); i >= 0 {
		return codec[i+1:]
	}
	return codec
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func trimZeros(s string) string {
	if strings.IndexByte(s, '.') < 0 {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// plural renders a count with its noun: "1 check", "3 checks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
