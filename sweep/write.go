package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
)

// Output file names in a sweep's directory.
const (
	JSONFile = "sweep.json"
	CSVFile  = "sweep.csv"
	HTMLFile = "report.html"
)

// Chart is one rendered plot of a sweep.
type Chart struct {
	// File is its name in the sweep's directory ("freeze_count.png").
	File, Title string
	PNG         []byte
}

// Write writes sweep.json, sweep.csv, a PNG per metric and report.html
// into dir and returns their paths.
func Write(dir string, r *Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	js, err := EncodeJSON(r)
	if err != nil {
		return nil, err
	}
	var tab bytes.Buffer
	if err := WriteCSV(&tab, r); err != nil {
		return nil, err
	}
	charts, err := Charts(r)
	if err != nil {
		return nil, err
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, r, charts); err != nil {
		return nil, fmt.Errorf("sweep html: %w", err)
	}
	out := []struct {
		name string
		data []byte
	}{{JSONFile, js}, {CSVFile, tab.Bytes()}}
	for _, c := range charts {
		out = append(out, struct {
			name string
			data []byte
		}{c.File, c.PNG})
	}
	out = append(out, struct {
		name string
		data []byte
	}{HTMLFile, page.Bytes()})
	var files []string
	for _, f := range out {
		path := filepath.Join(dir, f.name)
		if err := reports.WriteFileAtomic(path, f.data); err != nil {
			return files, fmt.Errorf("write %s: %w", f.name, err)
		}
		files = append(files, path)
	}
	return files, nil
}

// EncodeJSON is sweep.json: indented, with every non-finite number null.
func EncodeJSON(r *Result) ([]byte, error) {
	c := *r
	c.Cells = make([]Cell, len(r.Cells))
	for i, cell := range r.Cells {
		cell.Checks = append([]analysis.Check(nil), cell.Checks...)
		for k := range cell.Checks {
			if v := cell.Checks[k].Value; v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
				cell.Checks[k].Value = nil
			}
		}
		c.Cells[i] = cell
	}
	js, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sweep json: %w", err)
	}
	return append(js, '\n'), nil
}

// ReadJSON reads a sweep.json.
func ReadJSON(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.Schema, Schema)
	}
	return &r, nil
}

// WriteCSV writes the table: a row per cell, the axes' values, the
// status, the checks passed and failed, then a column per series.
func WriteCSV(w *bytes.Buffer, r *Result) error {
	cw := csv.NewWriter(w)
	head := []string{"cell"}
	for _, a := range r.Axes {
		head = append(head, a.Path)
	}
	head = append(head, "status", "checks_passed", "checks_failed")
	for _, k := range r.Series {
		head = append(head, k.Metric+" "+k.Subject)
	}
	head = append(head, "error")
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("sweep csv: %w", err)
	}
	for _, c := range r.Cells {
		row := append([]string{strconv.Itoa(c.Index)}, c.Values...)
		passed, failed := checkCounts(c.Checks)
		row = append(row, c.Status, strconv.Itoa(passed), strconv.Itoa(failed))
		for _, k := range r.Series {
			row = append(row, formatValue(c.Value(k)))
		}
		row = append(row, c.Error)
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("sweep csv: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

func checkCounts(cs []analysis.Check) (passed, failed int) {
	for _, c := range cs {
		if c.Failed() {
			failed++
		} else {
			passed++
		}
	}
	return passed, failed
}

// formatValue writes a value for the table: empty when not measured.
func formatValue(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// highIsGood lists the metrics whose larger values are better; every
// other metric (loss, freezes, delay) is drawn red when high.
var highIsGood = map[string]bool{
	"connected": true, "connected_fraction": true, "bitrate_kbps": true,
	"packets_received": true, "frames_received": true, "fps": true,
	"layer_min": true, "mos": true, "packets_repaired": true,
	"rate_kbps": true, "utilization": true, "fairness_1s": true,
	"fairness_5s": true, "fairness_20s": true,
}

// Charts renders each metric against the varied fields: a line per
// series for one field, a grid per series for two. A sweep of more fields
// has no chart (the table has every value).
func Charts(r *Result) ([]Chart, error) {
	// Fields set to one value are constants, not dimensions.
	var dims []int
	for k, a := range r.Axes {
		if len(a.Values) > 1 {
			dims = append(dims, k)
		}
	}
	if len(dims) == 0 || len(dims) > 2 {
		return nil, nil
	}
	var out []Chart
	for _, m := range r.Metrics {
		var keys []SeriesKey
		for _, k := range r.Series {
			if k.Metric == m {
				keys = append(keys, k)
			}
		}
		unit := ""
		if def, ok := analysis.LookupMetric(m, false); ok {
			unit = def.Unit
		} else if def, ok := analysis.LookupMetric(m, true); ok {
			unit = def.Unit
		}
		yLabel := m
		if unit != "" {
			yLabel += " (" + unit + ")"
		}
		var png []byte
		var err error
		x := r.Axes[dims[0]]
		title := fmt.Sprintf("%s: %s against %s", r.Scenario, m, x.Path)
		if len(dims) == 1 {
			xs, ticks, unit := axisX(x)
			xLabel := x.Path
			if unit != "" {
				xLabel += " (" + unit + ")"
			}
			var lines []reports.Line
			for _, k := range keys {
				l := reports.Line{Name: k.Subject, X: xs, Y: make([]float64, len(xs))}
				for i := range l.Y {
					l.Y[i] = math.NaN()
				}
				for _, c := range r.Cells {
					if v := c.Value(k); v != nil {
						l.Y[position(r.Axes, c.Index)[dims[0]]] = *v
					}
				}
				lines = append(lines, l)
			}
			png, err = reports.LineChart(title, xLabel, yLabel, ticks, lines)
		} else {
			y := r.Axes[dims[1]]
			title = fmt.Sprintf("%s: %s by %s and %s", r.Scenario, m, x.Path, y.Path)
			rows, cols := x.Values, y.Values
			var panels []reports.GridPanel
			for _, k := range keys {
				p := reports.GridPanel{Title: k.Subject, HighIsBad: !highIsGood[m], Values: make([][]float64, len(rows))}
				for i := range rows {
					p.Values[i] = make([]float64, len(cols))
					for j := range cols {
						p.Values[i][j] = math.NaN()
					}
				}
				for _, c := range r.Cells {
					if v := c.Value(k); v != nil {
						pos := position(r.Axes, c.Index)
						p.Values[pos[dims[0]]][pos[dims[1]]] = *v
					}
				}
				panels = append(panels, p)
			}
			if len(panels) == 0 {
				continue
			}
			png, err = reports.GridChart(title, x.Path, y.Path, rows, cols, panels)
		}
		if err != nil {
			return out, fmt.Errorf("chart of %s: %w", m, err)
		}
		out = append(out, Chart{File: chartFile(m), Title: title, PNG: png})
	}
	return out, nil
}

func chartFile(metric string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, metric) + ".png"
}

// axisX places an axis' values on the x axis: their numbers when every
// value is a number with the same unit, else 0, 1, ... with the values as
// tick labels.
func axisX(a Axis) ([]float64, []string, string) {
	xs := make([]float64, len(a.Values))
	unit := ""
	for i, v := range a.Values {
		n, err := parseNumber(v)
		if err != nil || (i > 0 && n.unit != unit) {
			for k := range xs {
				xs[k] = float64(k)
			}
			return xs, a.Values, ""
		}
		unit = n.unit
		xs[i] = n.v
	}
	return xs, nil, unit
}
