package reports_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
)

// A figure no source had (a browser keeps no send log; Stream.Missing)
// prints as a dash in the text and the HTML stream tables, never as 0;
// a figure that is 0 prints as 0. Before, a Chromium publisher's streams
// read "528/0" sent and 0 kbit/s.
func TestMissingIsNotZero(t *testing.T) {
	for _, c := range []struct {
		name    string
		missing []string
		sent    uint64
		kbps    float64
		// The text row's RECV/SENT and KBPS, and the HTML row's Sent and
		// Bitrate cells.
		recvSent, textKbps, htmlSent, htmlKbps string
	}{
		{"all there", nil, 572, 1701.4, "528/572", "1701", "572", "1701"},
		{"a real zero stays 0", nil, 0, 0, "528/0", "0", "0", "0"},
		{"sent missing", []string{"packets_sent"}, 0, 1701.4, "528/—", "1701", "—", "1701"},
		{"bitrate missing", []string{"bitrate_kbps"}, 572, 0, "528/572", "—", "572", "—"},
		{"both missing", []string{"packets_sent", "bitrate_kbps"}, 0, 0, "528/—", "—", "—", "—"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &reports.Report{Schema: reports.Schema, Scenario: reports.ScenarioInfo{Name: "missing", Topology: "p2p", Clock: "real"},
				Streams: []reports.Stream{{From: "alice", To: "bob", Kind: "video", Codec: "video/VP8", PacketsReceived: 528, PacketsExpected: 530,
					PacketsLost: 2, LossFraction: 0.00377, PacketsSent: c.sent, BitrateKbps: c.kbps, Missing: c.missing}}}
			var text strings.Builder
			if err := reports.WriteText(&text, r); err != nil {
				t.Fatal(err)
			}
			var row []string
			for _, line := range strings.Split(text.String(), "\n") {
				if f := strings.Fields(line); len(f) > 0 && f[0] == "alice->bob" {
					row = f
				}
			}
			// STREAM KIND CODEC RECV/SENT LOSS % RAW % JITTER MS RTT MS KBPS NACK PLI
			if len(row) != 11 {
				t.Fatalf("text row %q, want 11 columns:\n%s", row, text.String())
			}
			if row[3] != c.recvSent || row[8] != c.textKbps {
				t.Errorf("text RECV/SENT %q KBPS %q, want %q %q", row[3], row[8], c.recvSent, c.textKbps)
			}
			page := renderHTML(t, r, nil)
			m := regexp.MustCompile(`<tr><td>alice</td><td>bob</td>(.*?)</tr>`).FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no stream row in the page")
			}
			var cells []string
			for _, cm := range regexp.MustCompile(`<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(m[1], -1) {
				cells = append(cells, cm[1])
			}
			// Kind Codec Sent Received Loss RawLoss Jitter RTT Bitrate NACK PLI
			if len(cells) != 11 {
				t.Fatalf("HTML cells %q, want 11", cells)
			}
			if cells[2] != c.htmlSent || cells[8] != c.htmlKbps {
				t.Errorf("HTML Sent %q Bitrate %q, want %q %q", cells[2], cells[8], c.htmlSent, c.htmlKbps)
			}
		})
	}
}
