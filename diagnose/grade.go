package diagnose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// GradePath grades a result measured elsewhere (the browser test page):
// POST a Result with its measurements, get it back with its metrics,
// findings and verdict, graded by the same rules as `rtclab diagnose`.
const GradePath = "/rtclab/v1/grade"

// maxGradeBytes bounds a posted result; a page's is a few KiB with samples.
const maxGradeBytes = 1 << 20

// Grade computes what follows from a result's measurements: each
// quality's audio score, the bandwidth's window cap, the metrics, the
// findings and the verdict. It replaces what was there, so grading twice
// gives the same result.
func Grade(res *Result) {
	for i := range res.Quality {
		p := res.Quality[i].Ping
		res.Quality[i].Audio = ScoreAudio(p.RTTMs, p.JitterMs, p.LossPct)
	}
	if bw := res.Bandwidth; bw != nil && len(res.Quality) > 0 && res.Quality[0].Ping.RTTMs > 0 {
		bw.WindowCapKbps = round2(float64(windowBytes) * 8 / res.Quality[0].Ping.RTTMs)
	}
	res.Metrics, res.Findings, res.Audio, res.Video = nil, nil, nil, nil
	analyze(res)
}

// DecodeResult reads one Result strictly: unknown fields, trailing data
// or another schema are errors.
func DecodeResult(r io.Reader) (Result, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var res Result
	if err := dec.Decode(&res); err != nil {
		return Result{}, fmt.Errorf("result: %w", err)
	}
	if dec.More() {
		return Result{}, fmt.Errorf("result: data after the JSON object")
	}
	if res.Schema != Schema {
		return Result{}, fmt.Errorf("result: schema %q, want %q", res.Schema, Schema)
	}
	return res, nil
}

// serveGrade answers GradePath: 400 for a body that is not a Result, 413
// for one over maxGradeBytes; the result's client gets the address the
// request came from.
func serveGrade(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "POST a result", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxGradeBytes+1))
	if err != nil {
		http.Error(w, "reading the result: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxGradeBytes {
		http.Error(w, fmt.Sprintf("result larger than %d bytes", maxGradeBytes), http.StatusRequestEntityTooLarge)
		return
	}
	res, err := DecodeResult(bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	Grade(&res)
	if res.Client != nil {
		// The address this server saw, never the client's word for it.
		res.Client.ObservedAddress = remoteIP(r).String()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = WriteJSON(w, res)
}
