package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
)

// Row is one number of the report set against its recount.
type Row struct {
	// Stream is "alice->bob video", or a host name for per-capture rows.
	Stream string `json:"stream"`
	// Quantity is the report field (e.g. "loss_fraction").
	Quantity string `json:"quantity"`
	// Report is the report's number.
	Report float64 `json:"report"`
	// Low and High bound the recount (equal when it is exact).
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	// Tolerance is how far outside [Low, High] the report may be and
	// still agree; Why says where the bound and the tolerance come from.
	Tolerance float64 `json:"tolerance"`
	Why       string  `json:"why"`
	// Agree is the verdict on this row.
	Agree bool `json:"agree"`
}

// Result is a whole recount.
type Result struct {
	// Scenario names the run.
	Scenario string `json:"scenario"`
	// Streams are the recounts, in the report's order.
	Streams []*StreamCount `json:"streams"`
	// Rows are every comparison, stream by stream.
	Rows []Row `json:"rows"`
	// Decrypted says how many RTP and SRTCP packets the key log opened: the
	// numbers that depend on payloads are exact for those.
	Decrypted string `json:"decrypted"`
	// Tshark says whether tshark decoded the captures too, and how.
	Tshark string `json:"tshark"`
	// Notes are what could not be compared, and why.
	Notes []string `json:"notes"`
}

// Agree reports whether every row agrees.
func (r *Result) Agree() bool {
	for _, row := range r.Rows {
		if !row.Agree {
			return false
		}
	}
	return true
}

// Disagreements returns the rows that do not agree.
func (r *Result) Disagreements() []Row {
	var out []Row
	for _, row := range r.Rows {
		if !row.Agree {
			out = append(out, row)
		}
	}
	return out
}

// ErrInput marks input that cannot be recounted: no report, no captures,
// captures of another run. A command exits 2 on it.
var ErrInput = errors.New("cannot recount")

// Options tune a recount.
type Options struct {
	// Tshark is the tshark binary; "" looks it up on PATH and skips the
	// tshark comparison when it is missing, "-" never runs it.
	Tshark string
}

// virtualEpoch is where scenario time 0 sits in a virtual-clock run's
// captures: a testing/synctest bubble starts its clock at midnight UTC,
// 2000-01-01, and the runner starts the scenario at once.
var virtualEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// runnerDrain is how long after the scenario's end the runner reads its
// final counts (runner/runner.go, drain).
const runnerDrain = time.Second

// LoadReport reads DIR/report.json.
func LoadReport(dir string) (*reports.Report, error) {
	path := filepath.Join(dir, "report.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	var rep reports.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInput, path, err)
	}
	if rep.Schema != reports.Schema {
		return nil, fmt.Errorf("%w: %s: schema %q, want %q", ErrInput, path, rep.Schema, reports.Schema)
	}
	return &rep, nil
}

// Recount counts the run again from the captures in pcapDir and compares
// the report's stream numbers with the count.
func Recount(rep *reports.Report, pcapDir string, opt Options) (*Result, error) {
	ps := participantSet{topology: rep.Scenario.Topology}
	if ps.topology != "sfu" && ps.topology != "p2p" {
		return nil, fmt.Errorf("%w: topology %q: only sfu and p2p calls have per-stream captures to recount", ErrInput, ps.topology)
	}
	caps := map[string]*capture{}
	hosts := []string{}
	for _, p := range rep.Participants {
		ps.names = append(ps.names, p.Name)
		hosts = append(hosts, p.Name)
	}
	if ps.topology == "sfu" {
		hosts = append(hosts, "sfu")
	}
	// The DTLS key log rtclab run writes next to the captures
	// (runner.KeyLogFile).
	keys := map[string][]byte{}
	if f, err := os.Open(filepath.Join(pcapDir, "dtls-keys.log")); err == nil {
		keys = readKeyLog(f)
		f.Close()
	}
	addrs := map[string]netip.Addr{}
	for _, p := range rep.Participants {
		if a, err := netip.ParseAddr(p.Address); err == nil {
			addrs[p.Name] = a
		}
	}
	for _, h := range hosts {
		c, err := readCapture(pcapDir, h, addrs[h], keys)
		if err != nil {
			return nil, fmt.Errorf("%w: %w (was the run made with --pcap %s?)", ErrInput, err, pcapDir)
		}
		caps[h] = c
	}
	for _, p := range rep.Participants {
		if c := caps[p.Name]; p.Address != "" && c.self.String() != p.Address && len(c.rtp) > 0 {
			return nil, fmt.Errorf("%w: %s is the capture of %s, but the report puts %s at %s: captures of another run?", ErrInput, c.path, c.self, p.Name, p.Address)
		}
	}
	// The report's counts are read once the scenario's duration and then
	// the runner's drain (1 s, runner/runner.go) have passed; the
	// captures run on until the network closes. A real-clock report
	// carries that instant (counted_at); it is derived here for a
	// complete virtual-clock run, and the recount runs to the end of the
	// captures otherwise (a report from before counted_at).
	var end time.Time
	switch {
	case rep.Scenario.CountedAt != "":
		at, err := time.Parse(time.RFC3339Nano, rep.Scenario.CountedAt)
		if err != nil {
			return nil, fmt.Errorf("%w: report.json: scenario.counted_at: %w", ErrInput, err)
		}
		end = at
	case rep.Scenario.Clock == "virtual" && !rep.Partial:
		end = virtualEpoch.Add(time.Duration(rep.Scenario.DurationS*float64(time.Second)) + runnerDrain)
	}
	counts, err := recountStreams(caps, ps, end)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	res := &Result{Scenario: rep.Scenario.Name, Rows: []Row{}, Notes: []string{}, Streams: []*StreamCount{}}
	videoPer := map[string]int{}
	for _, s := range rep.Streams {
		if s.Kind == "video" {
			videoPer[s.To]++
		}
	}
	for _, s := range rep.Streams {
		name := fmt.Sprintf("%s->%s %s", s.From, s.To, s.Kind)
		if s.Connection > 1 {
			name += fmt.Sprintf(" #%d", s.Connection)
		}
		k, sc := lookup(counts, s)
		if sc == nil {
			if s.PacketsReceived > 0 {
				res.Rows = append(res.Rows, Row{Stream: name, Quantity: "packets_received", Report: float64(s.PacketsReceived),
					Why: "the captures hold no packet of this stream at its receiver"})
			} else {
				res.Notes = append(res.Notes, name+": not in the captures and nothing received by the report: nothing to compare")
			}
			continue
		}
		delete(counts, k)
		res.Streams = append(res.Streams, sc)
		res.Rows = append(res.Rows, streamRows(name, s, sc, rep, videoPer[s.To] == 1)...)
	}
	for k, sc := range counts {
		res.Rows = append(res.Rows, Row{Stream: fmt.Sprintf("%s->%s %s", k.from, k.to, k.kind), Quantity: "packets_received",
			High: float64(sc.Unique), Low: float64(sc.Unique), Why: "the captures hold this stream but the report has no such stream"})
	}
	for i := range res.Rows {
		r := &res.Rows[i]
		r.Agree = r.Report >= r.Low-r.Tolerance && r.Report <= r.High+r.Tolerance && !math.IsNaN(r.Report)
	}
	var all, dec, allRTCP, decRTCP int
	for _, h := range hosts {
		for _, r := range caps[h].rtp {
			all++
			if r.Decrypted {
				dec++
			}
		}
		for _, r := range caps[h].rtcp {
			allRTCP++
			if r.Decrypted {
				decRTCP++
			}
		}
	}
	res.Decrypted = fmt.Sprintf("%d of %d RTP and %d of %d RTCP packets decrypted with %s", dec, all, decRTCP, allRTCP, filepath.Join(pcapDir, "dtls-keys.log"))
	if err := tsharkCheck(res, caps, hosts, opt); err != nil {
		return nil, err
	}
	return res, nil
}

// streamRows compares one stream.
func streamRows(name string, s reports.Stream, sc *StreamCount, rep *reports.Report, oneVideo bool) []Row {
	var rows []Row
	exact := func(q string, report float64, count uint64, why string) {
		rows = append(rows, Row{Stream: name, Quantity: q, Report: report, Low: float64(count), High: float64(count), Why: why})
	}
	if s.Sources["packets_sent"] == reports.SourceCapture && sc.SentPadded > 0 {
		// A browser publisher's packets_sent is read off the capture of
		// its link without the SRTP keys (runner/browser_streams.go),
		// where a packet with the P bit set counts as a padding probe;
		// Chromium now and then pads a media packet too.
		rows = append(rows, Row{Stream: name, Quantity: "packets_sent", Report: float64(s.PacketsSent),
			Low: float64(sc.Sent - sc.SentPadded), High: float64(sc.Sent),
			Why: fmt.Sprintf("%s's media packets on the wire in %s.pcap (every layer; %d RTX apart); %d of them padded, which the report, counting from the capture without the SRTP keys, takes for padding probes",
				s.From, s.From, sc.SentRTX, sc.SentPadded)})
	} else {
		exact("packets_sent", float64(s.PacketsSent), sc.Sent,
			fmt.Sprintf("exact: %s's media packets on the wire in %s.pcap (every layer; %d RTX apart)", s.From, s.From, sc.SentRTX))
	}
	expected := sc.HopSent + sc.HopUnsent - sc.InFlight
	recvLo, recvHi := sc.Unique+sc.RepairedMin, sc.Unique+sc.RepairedMax
	why := fmt.Sprintf("distinct media sequence numbers at %s (%d padding packets apart)", s.To, sc.Padding)
	switch {
	case sc.RTX > 0 && sc.RTXDecrypted:
		why = fmt.Sprintf("exact: %s plus %d lost packets repaired by %d RTX (original sequence numbers decrypted)", why, sc.RepairedMin, sc.RTX)
		if sc.RTXNotSent > 0 {
			why += fmt.Sprintf("; %d RTX carry sequence numbers %s never sent to %s as media (%d of them repeat padding probes)", sc.RTXNotSent, sc.HopHost, s.To, sc.RTXOfPadding)
		}
	case sc.RTX > 0:
		why += fmt.Sprintf(" plus %d..%d of %d RTX matched to a lost packet by timestamp and size (no key log: the original sequence number is encrypted)", sc.RepairedMin, sc.RepairedMax, sc.RTX)
	default:
		why = "exact: " + why
	}
	rows = append(rows, Row{Stream: name, Quantity: "packets_received", Report: float64(s.PacketsReceived), Low: float64(recvLo), High: float64(recvHi), Why: why})
	if expected > 0 {
		// rounding of the report (5 decimals)
		const round5 = 0.5e-5
		lossLo := float64(expected-min(expected, recvHi)) / float64(expected)
		lossHi := float64(expected-min(expected, recvLo)) / float64(expected)
		rows = append(rows, Row{Stream: name, Quantity: "loss_fraction", Report: s.LossFraction, Low: lossLo, High: lossHi, Tolerance: round5,
			Why: fmt.Sprintf("1 - received/%d media packets %s put on the wire to %s%s (%s)", expected, sc.HopHost, s.To, unsent(sc), inFlightNote(sc))})
		raw := float64(sc.Lost) / float64(expected)
		rows = append(rows, Row{Stream: name, Quantity: "raw_loss_fraction", Report: s.RawLossFraction, Low: raw, High: raw, Tolerance: round5,
			Why: fmt.Sprintf("exact: %d of %d media packets never arrived as originals", sc.Lost, expected)})
	}
	if sc.Arrived > 1 {
		rows = append(rows, Row{Stream: name, Quantity: "jitter_ms", Report: s.JitterMS, Low: sc.JitterMS, High: sc.JitterMS,
			Tolerance: 0.01*sc.JitterMS + 0.001,
			Why:       "RFC 3550 A.8 from capture arrival times and RTP timestamps; 1 % for the capture's microsecond clock and the order packets reach the application, 0.001 ms for the report's rounding"})
	}
	if rep.Scenario.Clock == "virtual" && !rep.Partial && !sc.FirstArrival.IsZero() {
		// The report divides the payload bytes of distinct packets by the
		// time from the first 100 ms sample that saw one to the end.
		first := sc.FirstArrival.Sub(virtualEpoch)
		first = (first + 100*time.Millisecond - 1).Truncate(100 * time.Millisecond)
		span := rep.Scenario.DurationS - first.Seconds()
		if span > 0 {
			lo := float64(sc.Bytes+sc.BytesRepairedMin) * 8 / 1000 / span
			hi := float64(sc.Bytes+sc.BytesRepairedMax) * 8 / 1000 / span
			tol := float64(sc.MaxPayload)*8/1000/span + 0.05
			rows = append(rows, Row{Stream: name, Quantity: "bitrate_kbps", Report: s.BitrateKbps, Low: lo, High: hi, Tolerance: tol,
				Why: fmt.Sprintf("payload bytes of distinct packets, repairs included, over %.1f s; within one packet (%d bytes) and the report's rounding", span, sc.MaxPayload)})
		}
	}
	if row, ok := bitrateSeriesRow(name, s, sc, rep); ok {
		rows = append(rows, row)
	}
	switch {
	case sc.FeedbackDecrypted:
		feedback := func(q string, report float64, n, sealed uint64, what string) {
			why := fmt.Sprintf("exact: %s about SSRC %#08x in %s's decrypted SRTCP", what, sc.SSRC, s.To)
			if sealed > 0 {
				why = fmt.Sprintf("%s about SSRC %#08x in %s's decrypted SRTCP, plus up to %d SRTCP packets that could not be decrypted and whose clear first header is one (about this stream or another)", what, sc.SSRC, s.To, sealed)
			}
			rows = append(rows, Row{Stream: name, Quantity: q, Report: report, Low: float64(n), High: float64(n + sealed), Why: why})
		}
		feedback("nack_count", float64(s.NACKCount), sc.NACKs, sc.NACKsSealed, "generic NACKs (RFC 4585 6.2.1)")
		feedback("pli_count", float64(s.PLICount), sc.PLIs, sc.PLIsSealed, "PLIs and FIRs")
	case oneVideo && s.Kind == "video":
		exact("nack_count", float64(s.NACKCount), sc.NACKs, fmt.Sprintf("exact: SRTCP packets from %s whose clear first header is a generic NACK (its only video stream; no key log)", s.To))
		exact("pli_count", float64(s.PLICount), sc.PLIs, fmt.Sprintf("exact: SRTCP packets from %s whose clear first header is a PLI or FIR (its only video stream; no key log)", s.To))
	}
	return rows
}

// bitrateSeriesRow compares the report's bitrate series (the payload
// bytes of distinct packets in the second before each 100 ms sample) with
// the same window over the recount's arrivals, and returns the worst
// window. Exact repairs are needed (a decrypted RTX) when there were any,
// and the virtual clock, whose scenario time 0 is known.
func bitrateSeriesRow(name string, s reports.Stream, sc *StreamCount, rep *reports.Report) (Row, bool) {
	if rep.Scenario.Clock != "virtual" || (sc.RTX > 0 && !sc.RTXDecrypted) {
		return Row{}, false
	}
	var pts []analysis.Point
	for _, se := range rep.Series {
		if se.Name == "bitrate "+name { // the runner's series name: "from->to kind", " #N" for a later connection
			pts = se.Points
		}
	}
	worst, n := Row{}, 0
	tol := 2*float64(sc.MaxPayload)*8/1000 + 0.05
	for _, p := range pts {
		end := virtualEpoch.Add(time.Duration(math.Round(p.T*1000)) * time.Millisecond)
		if end.Before(sc.FirstArrival.Add(1500 * time.Millisecond)) {
			continue // the report's first windows of a stream are shorter than a second
		}
		var bytes int
		for _, a := range sc.arrivals {
			if a.at.After(end.Add(-time.Second)) && !a.at.After(end) {
				bytes += a.bytes
			}
		}
		kbps := float64(bytes) * 8 / 1000
		n++
		if d := math.Abs(p.V - kbps); n == 1 || d > math.Abs(worst.Report-worst.Low) {
			worst = Row{Report: p.V, Low: kbps, High: kbps, Why: fmt.Sprintf("%.1f s", p.T)}
		}
	}
	if n == 0 {
		return Row{}, false
	}
	worst.Stream, worst.Tolerance, worst.Quantity = name, tol, "bitrate_kbps per second"
	worst.Why = fmt.Sprintf("the worst of %d one-second windows of the report's bitrate series (the one ending at %s) against the same window of the recount; within two packets (%d bytes each: one at each edge of the window)", n, worst.Why, sc.MaxPayload)
	return worst, true
}

// lookup finds the recount of the report's stream s: by the SSRC the
// receiver got it on, or, for a report without one, the only recount of
// its publisher, receiver and kind.
func lookup(counts map[streamKey]*StreamCount, s reports.Stream) (streamKey, *StreamCount) {
	if s.Wire != nil && s.Wire.SSRC != 0 {
		k := streamKey{s.From, s.To, s.Kind, s.Wire.SSRC}
		return k, counts[k]
	}
	var found streamKey
	var sc *StreamCount
	for k, c := range counts {
		if k.from == s.From && k.to == s.To && k.kind == s.Kind {
			if sc != nil {
				return streamKey{}, nil // ambiguous
			}
			found, sc = k, c
		}
	}
	return found, sc
}

// unsent says how many packets the hop numbered but never sent, if any.
func unsent(sc *StreamCount) string {
	if sc.HopUnsent == 0 {
		return ""
	}
	return fmt.Sprintf(" or numbered without a path to put them on (%d sequence numbers missing from its wire)", sc.HopUnsent)
}

// inFlightNote says what the recount did with packets still on their way
// when the counts were taken.
func inFlightNote(sc *StreamCount) string {
	if sc.Queued > 0 {
		return fmt.Sprintf("%d of them still on their way at the report's final read, within the last second's longest transit, %v: lost, as the report counts them", sc.Queued, sc.MaxTransit)
	}
	return fmt.Sprintf("%d in flight at the end left out: sent after the last packet that arrived and within the last second's longest transit, %v, of the final count", sc.InFlight, sc.MaxTransit)
}
