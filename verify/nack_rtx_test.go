package verify

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
)

// No endpoint asks for a retransmission of a retransmission: every
// generic NACK (RFC 4585 section 6.2.1) names a media SSRC, never an RTX
// SSRC (RFC 4588 section 6: losses are reported for the original stream).
// pion's generator, before stack/peer/nack.go replaced it, took the RTX
// stream for one more stream with gaps (quickstart: 159 of bob's 320
// NACKs were about RTX). The recount decrypts every NACK (key log) and
// looks the SSRC up in what the sender of the NACK received; the outage
// makes a burst of repairs, the random loss lost repairs.
func TestNoNACKAboutRTX(t *testing.T) {
	if testing.Short() {
		t.Skip("two calls")
	}
	for _, down := range []string{"{loss: 10%, delay: 20ms}", "{delay: 30ms, schedule: [{at: 4s, down: true}, {at: 7s, down: false}]}"} {
		t.Run(down, func(t *testing.T) {
			s, err := scenarios.Parse("nack-rtx.yaml", []byte(fmt.Sprintf(sfuCall, "nack-rtx", down)))
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				_, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual, CaptureDir: out})
			})
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join(out, "dtls-keys.log"))
			if err != nil {
				t.Fatal(err)
			}
			keys := readKeyLog(f)
			_ = f.Close()
			media := 0
			for _, h := range []string{"alice", "bob", "sfu"} {
				c, err := readCapture(out, h, netip.Addr{}, keys)
				if err != nil {
					t.Fatal(err)
				}
				rtx := map[uint32]bool{}
				for _, r := range c.rtp {
					if !r.Out && payloadTypes[r.PT].rtx {
						rtx[r.SSRC] = true
					}
				}
				for _, r := range c.rtcp {
					if !r.Out {
						continue
					}
					if !r.Decrypted {
						t.Fatalf("%s: an SRTCP packet could not be decrypted: the test needs every NACK", h)
					}
					for _, ssrc := range r.NACKs {
						if rtx[ssrc] {
							t.Errorf("%s sent a NACK about RTX SSRC %#08x", h, ssrc)
						}
						media++
					}
				}
			}
			if media == 0 {
				t.Fatal("no NACK at all: the test proves nothing")
			}
		})
	}
}
