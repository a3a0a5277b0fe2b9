package verify

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
)

// A DTLS association goes on over a new 5-tuple after an ICE restart, and
// the recount adopts the session for the new flow from its first packet
// that authenticates. Here alice (WHIP) loses her link for 8 s and bob
// (WHEP) restarts ICE twice while nothing reaches him: his second new
// flow carries the SFU's media first and his feedback after, his first
// only feedback both ways. The flow was adopted in one direction only,
// so the other direction's SRTCP went undecrypted (106 of bob's 210
// packets), and the one NACK bob sent about his video was counted
// against his audio too: nack_count 0 in the report, 1 in the recount.
// Every SRTCP packet of every capture must decrypt, and every row agree.
func TestRecountAfterICERestart(t *testing.T) {
	s, err := scenarios.Parse("whip-flap.yaml", []byte(`name: whip-flap
duration: 20s
servers:
  sfu: whip
participants:
  - name: alice
    nat: port-restricted-cone
    publish: [audio, video]
  - name: bob
timeline:
  - {at: 4s, flap: alice, for: 8s}
`))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var rep *reports.Report
	synctest.Test(t, func(t *testing.T) {
		rep, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual, CaptureDir: out})
	})
	if err != nil {
		t.Fatal(err)
	}

	restarts := 0
	for _, e := range rep.Events {
		if e.Source == "bob" && e.Kind == "ice-restart" {
			restarts++
		}
	}
	if restarts == 0 {
		t.Fatal("bob did not restart ICE: his SRTCP stayed on one flow, the test proves nothing")
	}
	f, err := os.Open(filepath.Join(out, "dtls-keys.log"))
	if err != nil {
		t.Fatal(err)
	}
	keys := readKeyLog(f)
	_ = f.Close()
	for _, h := range []string{"alice", "bob", "sfu"} {
		c, err := readCapture(out, h, netip.Addr{}, keys)
		if err != nil {
			t.Fatal(err)
		}
		sealed := 0
		for _, r := range c.rtcp {
			if !r.Decrypted {
				sealed++
			}
		}
		if sealed > 0 || len(c.rtcp) == 0 {
			t.Errorf("%s: %d of %d SRTCP packets not decrypted", h, sealed, len(c.rtcp))
		}
	}
	res, err := Recount(rep, out, Options{Tshark: "-"})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range res.Disagreements() {
		t.Errorf("%s %s: report %g, recount %s (%s)", row.Stream, row.Quantity, row.Report, span(row.Low, row.High), row.Why)
	}
	feedback := 0
	for _, row := range res.Rows {
		if row.Quantity == "nack_count" || row.Quantity == "pli_count" {
			feedback++
			if row.Low != row.High {
				t.Errorf("%s %s: recount %s, want exact", row.Stream, row.Quantity, span(row.Low, row.High))
			}
		}
	}
	if feedback != 4 {
		t.Errorf("%d feedback rows, want nack_count and pli_count of alice->bob audio and video", feedback)
	}
}
