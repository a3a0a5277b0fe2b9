package history

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/probes/nat"
)

// Verdicts and NATTypes are the values the filters accept.
var (
	Verdicts = []string{"good", "warn", "bad", "partial"}
	NATTypes = []string{string(nat.OpenInternet), string(nat.FullCone), string(nat.RestrictedCone),
		string(nat.PortRestrictedCone), string(nat.Symmetric), string(nat.Firewall), string(nat.Unknown)}
)

// ParseFilter reads a Filter from the query parameters label, verdict,
// nat, relay_only (yes/no), since and until (YYYY-MM-DD, until inclusive,
// or RFC 3339) and limit; every bad value is named in the error.
func ParseFilter(q url.Values) (Filter, error) {
	f := Filter{Label: strings.TrimSpace(q.Get("label")), Verdict: q.Get("verdict"), NAT: q.Get("nat")}
	var errs []string
	if f.Verdict != "" && !contains(Verdicts, f.Verdict) {
		errs = append(errs, fmt.Sprintf("verdict %q: want one of %s", f.Verdict, strings.Join(Verdicts, ", ")))
	}
	if f.NAT != "" && !contains(NATTypes, f.NAT) {
		errs = append(errs, fmt.Sprintf("nat %q: want one of %s", f.NAT, strings.Join(NATTypes, ", ")))
	}
	switch v := q.Get("relay_only"); v {
	case "":
	case "yes", "true", "1":
		t := true
		f.RelayOnly = &t
	case "no", "false", "0":
		t := false
		f.RelayOnly = &t
	default:
		errs = append(errs, fmt.Sprintf("relay_only %q: want yes or no", v))
	}
	for _, p := range []struct {
		name string
		to   *time.Time
		end  bool
	}{{"since", &f.Since, false}, {"until", &f.Until, true}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			if p.end {
				t = t.AddDate(0, 0, 1)
			}
			*p.to = t
		} else if t, err := time.Parse(time.RFC3339, v); err == nil {
			*p.to = t
		} else {
			errs = append(errs, fmt.Sprintf("%s %q: want a date YYYY-MM-DD or an RFC 3339 time", p.name, v))
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			errs = append(errs, fmt.Sprintf("limit %q: want 1 to 10000", v))
		}
		f.Limit = n
	}
	if len(errs) > 0 {
		return f, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return f, nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func (a *API) listResults(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFilter(r.URL.Query())
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	recs, err := a.cfg.Store.List(r.Context(), f)
	if err != nil {
		a.internal(w, err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "", "json":
		if recs == nil {
			recs = []Record{}
		}
		w.Header().Set("Content-Disposition", `inline; filename="rtclab-results.json"`)
		writeJSON(w, http.StatusOK, recs)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="rtclab-results.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		if err := WriteCSV(w, recs); err != nil {
			a.log.Error("history: csv", "err", err)
		}
	default:
		apiError(w, http.StatusBadRequest, fmt.Sprintf("format %q: want json or csv", r.URL.Query().Get("format")))
	}
}

// CSVHeader is the first row of WriteCSV.
var CSVHeader = []string{"id", "created", "label", "verdict", "partial", "nat", "best_path", "relay_only",
	"client", "observed_address", "target", "rtt_ms", "jitter_ms", "loss_pct", "upload_kbps", "download_kbps"}

// WriteCSV writes one row per record: the indexed columns and the graded
// numbers over the best path (empty when not measured).
func WriteCSV(w io.Writer, recs []Record) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, rec := range recs {
		res, _ := rec.Result()
		row := []string{rec.ID, rec.Created.Format(time.RFC3339), cell(rec.Label), rec.Verdict, strconv.FormatBool(rec.Partial),
			rec.NAT, rec.BestPath, strconv.FormatBool(rec.RelayOnly), rec.ClientKind, rec.Observed, cell(rec.Target)}
		for _, name := range []string{"rtt", "jitter", "loss", "upload", "download"} {
			row = append(row, metricCell(res, name))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from reading text as a formula (OWASP's CSV
// injection advice: a leading quote).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// metricCell is the value of metric name over the best path.
func metricCell(res diagnose.Result, name string) string {
	for _, m := range res.Metrics {
		if m.Name == name && m.Path == res.BestPath {
			return strconv.FormatFloat(m.Value, 'f', -1, 64)
		}
	}
	return ""
}
