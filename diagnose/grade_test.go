package diagnose

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestServeGrade: the page's measurements come back graded by the CLI's
// rules, with the address the server saw; anything else is refused.
func TestServeGrade(t *testing.T) {
	good := `{"schema":"rtclab.diagnose/v1","partial":false,"client":{"kind":"browser","observed_address":"203.0.113.9"},
		"turn":[{"url":"turn:192.0.2.1:3478?transport=udp","transport":"udp","failure":"timeout"},
		        {"url":"turn:192.0.2.1:3478?transport=tcp","transport":"tcp","ok":true,"ms":40}],
		"paths":[{"kind":"relay-tcp","ok":true}],"best_path":"relay-tcp",
		"quality":[{"path":"relay-tcp","ping":{"sent":150,"received":150,"rtt_ms":40,"jitter_ms":2}}],
		"bandwidth":{"path":"relay-tcp","up":{"mbps":2},"down":{"mbps":3}}}`
	tests := []struct {
		method, body string
		code         int
	}{
		{"POST", good, 200},
		{"POST", `{"schema":"rtclab.diagnose/v1","invented":1}`, 400},
		{"POST", `{"schema":"rtclab.diagnose/v2"}`, 400},
		{"POST", `not json`, 400},
		{"POST", `{"schema":"rtclab.diagnose/v1","target":"` + strings.Repeat("x", maxGradeBytes) + `"}`, 413},
		{"GET", "", 405},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, GradePath, strings.NewReader(tt.body))
		req.RemoteAddr = "198.51.100.7:4242"
		rec := httptest.NewRecorder()
		serveGrade(rec, req)
		if rec.Code != tt.code {
			t.Errorf("%s %.40s: %d, want %d: %s", tt.method, tt.body, rec.Code, tt.code, rec.Body)
			continue
		}
		if tt.code != 200 {
			continue
		}
		var res Result
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		if res.Client.ObservedAddress != "198.51.100.7" {
			t.Errorf("observed address %q: the client's own word was kept", res.Client.ObservedAddress)
		}
		if res.Verdict.Level != Warn || len(res.Metrics) != 6 || res.Quality[0].Audio.MOS == 0 || res.Bandwidth.WindowCapKbps == 0 {
			t.Errorf("not graded as diagnose grades: verdict %+v, %d metrics, audio %+v, cap %v",
				res.Verdict, len(res.Metrics), res.Quality[0].Audio, res.Bandwidth.WindowCapKbps)
		}
		if !strings.Contains(res.Verdict.Summary, "UDP to the TURN server is blocked") {
			t.Errorf("verdict %q does not name the UDP block", res.Verdict.Summary)
		}
	}
}
