package matrix

import (
	"context"
	"testing"

	"github.com/rtclab/rtclab/netem"
)

// A corner of the mDNS slice, run: every cell expected or a known pion
// behaviour, and the cells that tell the story.
func TestMDNSSlice(t *testing.T) {
	p := Plan{NATs: []NAT{PresetNAT(netem.Open), PresetNAT(netem.Symmetric)}, ICE: MDNSConfigs, Seed: 1, Duration: DefaultDuration}
	if n := len(p.Cells()); n != 8 {
		t.Fatalf("%d cells, want 4 + 2 + 2 (one LAN has one NAT)", n)
	}
	r, err := Run(context.Background(), p, Options{Bubble: bubble(t), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != "pass" {
		for _, c := range r.Cells {
			t.Logf("%s %s -> %s: %s %s", c.ICE, c.Row, c.Col, c.Status, c.Explanation)
		}
		t.Fatalf("%s", r.Headline())
	}
	for _, s := range []struct {
		ice      ICEConfig
		row, col netem.NAT
		want     Path
	}{
		{MDNSLAN, netem.Open, netem.Open, Host},                 // resolved on the LAN
		{MDNS, netem.Open, netem.Open, Prflx},                   // the name does not resolve across the internet
		{MDNS, netem.Symmetric, netem.Symmetric, Relay},         // as without mDNS
		{MDNSLANStrip, netem.Symmetric, netem.Symmetric, Relay}, // no host pair, no way through the NAT
	} {
		if c := cellOf(t, r, s.ice, s.row, s.col); c.Path != s.want {
			t.Errorf("%s %s -> %s: %s, want %s", s.ice, s.row, s.col, c.Path, s.want)
		}
	}
}
