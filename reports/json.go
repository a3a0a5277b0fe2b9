package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/rtclab/rtclab/analysis"
)

// ErrSchema is returned by ReadJSON for a file whose "schema" is not
// Schema: a report of another major version, or not a report at all.
var ErrSchema = errors.New("unsupported report schema")

// WriteJSON writes r to path as indented JSON with a trailing newline. The
// file is replaced atomically: readers see the old file or the new one,
// never a half-written one.
//
// JSON has no encoding for NaN or infinity, so WriteJSON omits series
// points whose time or value is not finite (a missing sample means the
// same) and writes null for a non-finite optional number (time to connect,
// RTT, check value); any other non-finite number is an error. Empty lists
// are written as [], never null. An empty Schema is written as Schema. r
// itself is not modified.
func WriteJSON(path string, r *Report) error {
	data, err := encodeJSON(r)
	if err != nil {
		return fmt.Errorf("encode report %s: %w", path, err)
	}
	if err := WriteFileAtomic(path, data); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON (or by any writer of the
// same schema version). Unknown fields are ignored, as a newer writer of
// the same version may have added some. A file of another schema fails
// with an error wrapping ErrSchema.
func ReadJSON(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode report %s: %w", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("report %s: schema %q, want %q: %w", path, r.Schema, Schema, ErrSchema)
	}
	return &r, nil
}

// encodeJSON renders r the way report.json holds it: two-space indent,
// trailing newline, and "<", ">", "&" left as they are.
func encodeJSON(r *Report) ([]byte, error) {
	if r == nil {
		return nil, errors.New("nil report")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(normalized(r)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// normalized returns a copy of r ready for JSON (see WriteJSON). Every
// list that may change is copied, so r is left alone.
func normalized(r *Report) *Report {
	n := *r
	if n.Schema == "" {
		n.Schema = Schema
	}
	n.Participants = cloned(r.Participants)
	for i := range n.Participants {
		n.Participants[i].TimeToConnectMS = finiteOrNil(n.Participants[i].TimeToConnectMS)
	}
	n.Streams = cloned(r.Streams)
	for i := range n.Streams {
		n.Streams[i].RTTMS = finiteOrNil(n.Streams[i].RTTMS)
	}
	n.Checks = cloned(r.Checks)
	for i := range n.Checks {
		n.Checks[i].Value = finiteOrNil(n.Checks[i].Value)
	}
	n.Series = cloned(r.Series)
	for i, s := range n.Series {
		pts := make([]analysis.Point, 0, len(s.Points))
		for _, p := range s.Points {
			if isFinite(p.T) && isFinite(p.V) {
				pts = append(pts, p)
			}
		}
		n.Series[i].Points = pts
	}
	n.Events = cloned(r.Events)
	return &n
}

// finiteOrNil returns v, or nil when v points at NaN or an infinity.
func finiteOrNil(v *float64) *float64 {
	if v != nil && !isFinite(*v) {
		return nil
	}
	return v
}

func isFinite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

// cloned returns a copy of s that is never nil, so it encodes as [].
func cloned[T any](s []T) []T {
	return append(make([]T, 0, len(s)), s...)
}

// ToolBuild is the build of the program that wrote a report, from its Go
// build information: which code produced these numbers.
type ToolBuild struct {
	// Version is the module version ("v1.2.0", or a pseudo-version, or
	// "(devel)" for a build without module information).
	Version string `json:"version"`
	// Revision is the VCS commit the binary was built from; empty when
	// not built from a checkout.
	Revision string `json:"revision,omitempty"`
	// Time is the commit's time (RFC 3339); empty when unknown.
	Time string `json:"time,omitempty"`
	// Modified is true when the checkout had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// Go is the Go release that compiled it.
	Go string `json:"go,omitempty"`
}
