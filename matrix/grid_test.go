package matrix

import (
	"context"
	"math"
	"testing"

	vbubble "github.com/rtclab/rtclab/bubble"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/reports"
)

func bubble(t *testing.T) func(func()) {
	return func(f func()) { vbubble.Run(t, f) }
}

func cellOf(t *testing.T, r *Result, ice ICEConfig, row, col netem.NAT) CellResult {
	t.Helper()
	for _, c := range r.Cells {
		if c.ICE == string(ice) && c.Row == string(row) && c.Col == string(col) {
			return c
		}
	}
	t.Fatalf("no cell %s %s -> %s", ice, row, col)
	return CellResult{}
}

// TestFullGrid runs the whole default grid (196 cells) in virtual time:
// every cell must be as expected or explained by a known pion behaviour.
func TestFullGrid(t *testing.T) {
	if testing.Short() {
		t.Skip("the full grid takes a few seconds")
	}
	r, err := Run(context.Background(), DefaultPlan(), Options{Bubble: bubble(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Cells) != 196 || r.Errors != 0 || r.Unexpected != 0 || r.Verdict != "pass" {
		t.Errorf("%s", r.Headline())
	}
	for _, c := range r.Cells {
		if c.Status == StatusUnexpected || c.Status == StatusError {
			t.Errorf("%s %s -> %s: %s", c.ICE, c.Row, c.Col, c.Explanation)
		}
		if c.Status == StatusDeviation && c.Deviation != "pion-srflx-own-socket" {
			t.Errorf("%s %s -> %s: deviation %s", c.ICE, c.Row, c.Col, c.Deviation)
		}
		if c.Connected && (c.TimeToConnectMS == nil || c.Offerer.ChecksSent == 0 || c.Answerer.ChecksSent == 0) {
			t.Errorf("%s %s -> %s: connected without a setup time or checks: %+v", c.ICE, c.Row, c.Col, c)
		}
	}
	spot := []struct {
		ice      ICEConfig
		row, col netem.NAT
		want     Path
	}{
		{STUNTURN, netem.Symmetric, netem.PortRestrictedCone, Relay},
		{STUNOnly, netem.Symmetric, netem.PortRestrictedCone, Failed},
		{STUNOnly, netem.FullCone, netem.Symmetric, Prflx},
		{HostOnly, netem.FullCone, netem.FullCone, Failed},
		{STUNTURN, netem.UDPBlocked, netem.Open, RelayTCP},
		{STUNOnly, netem.PortRestrictedCone, netem.PortRestrictedCone, Srflx},
	}
	for _, s := range spot {
		if c := cellOf(t, r, s.ice, s.row, s.col); c.Path != s.want {
			t.Errorf("%s %s -> %s: %s, want %s", s.ice, s.row, s.col, c.Path, s.want)
		}
	}
	relay := cellOf(t, r, RelayOnly, netem.Symmetric, netem.Symmetric)
	if c := relay.Offerer.Candidates; c.Host != 0 || c.Srflx != 0 || c.Relay == 0 {
		t.Errorf("relay-only gathered %+v", c)
	}
	hostOnly := cellOf(t, r, HostOnly, netem.Open, netem.Symmetric)
	// Host-only: each end gathers exactly its one host candidate, however
	// it is NATed, and nothing else.
	for _, e := range []End{hostOnly.Offerer, hostOnly.Answerer} {
		if want := (reports.CandidateCounts{Host: 1}); e.Candidates != want {
			t.Errorf("host-only gathered %+v, want %+v", e.Candidates, want)
		}
	}
}

// TestSameSeedSameTable runs a sub-grid twice with one seed: every path,
// status, selected pair and candidate count repeats, and so does the
// setup time without TURN. Known limits, pinned here: checks_sent may
// differ by a few (pion's check ticks meet the final snapshot on one
// virtual instant), and with TURN the setup time may shift by up to
// 120 ms (see below).
func TestSameSeedSameTable(t *testing.T) {
	p := DefaultPlan()
	p.NATs = []NAT{PresetNAT(netem.Open), PresetNAT(netem.RestrictedCone), PresetNAT(netem.Symmetric), PresetNAT(netem.UDPBlocked)}
	p.Seed = 3
	var runs [2]*Result
	for i := range runs {
		r, err := Run(context.Background(), p, Options{Bubble: bubble(t)})
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = r
	}
	a, b := runs[0], runs[1]
	if len(a.Cells) != 64 || len(b.Cells) != 64 {
		t.Fatalf("%d and %d cells", len(a.Cells), len(b.Cells))
	}
	pairTypes := func(e End) [4]string {
		if e.SelectedPair == nil {
			return [4]string{}
		}
		sp := e.SelectedPair
		return [4]string{sp.Local, sp.Remote, sp.RemoteSignalled, sp.RelayProtocol}
	}
	for i := range a.Cells {
		x, y := a.Cells[i], b.Cells[i]
		name := x.ICE + " " + x.Row + " -> " + x.Col
		if x.Path != y.Path || x.Status != y.Status || x.Connected != y.Connected {
			t.Errorf("%s: %s/%s then %s/%s", name, x.Path, x.Status, y.Path, y.Status)
		}
		for _, e := range [][2]End{{x.Offerer, y.Offerer}, {x.Answerer, y.Answerer}} {
			if pairTypes(e[0]) != pairTypes(e[1]) || e[0].Candidates != e[1].Candidates || e[0].RemoteCandidates != e[1].RemoteCandidates {
				t.Errorf("%s: %v %+v %+v then %v %+v %+v", name, pairTypes(e[0]), e[0].Candidates, e[0].RemoteCandidates,
					pairTypes(e[1]), e[1].Candidates, e[1].RemoteCandidates)
			}
		}
		if (x.TimeToConnectMS == nil) != (y.TimeToConnectMS == nil) {
			t.Errorf("%s: setup time %v then %v", name, x.TimeToConnectMS, y.TimeToConnectMS)
			continue
		}
		if x.TimeToConnectMS == nil {
			continue
		}
		d := math.Abs(*x.TimeToConnectMS - *y.TimeToConnectMS)
		limit := 0.0
		if x.ICE == string(STUNTURN) {
			// The STUN binding and the TURN allocations go to one server
			// with one round trip, so their candidates appear on one
			// virtual instant and trickle in the order the scheduler
			// picks; seen: up to 96 ms apart.
			limit = 120
		}
		if d > limit {
			t.Errorf("%s: setup %v ms then %v ms", name, *x.TimeToConnectMS, *y.TimeToConnectMS)
		}
	}
}

// TestPionSrflxOwnSocket pins the deviation pion-srflx-own-socket: an
// open host calling a full-cone NAT with STUN sees the NATed side's
// checks come from an address that is not its server-reflexive
// candidate, so it names it peer-reflexive. If pion starts gathering
// server-reflexive candidates on the host candidate's socket, this cell
// becomes srflx and this test (and the deviation) should go.
func TestPionSrflxOwnSocket(t *testing.T) {
	p := DefaultPlan()
	p.NATs = []NAT{PresetNAT(netem.Open), PresetNAT(netem.FullCone)}
	p.ICE = []ICEConfig{STUNOnly}
	r, err := Run(context.Background(), p, Options{Bubble: bubble(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := cellOf(t, r, STUNOnly, netem.Open, netem.FullCone)
	if c.Expected != Srflx || c.Path != Prflx || c.Status != StatusDeviation || c.Deviation != "pion-srflx-own-socket" {
		t.Fatalf("cell: %s", c.Explanation)
	}
	if c.Answerer.Candidates.Srflx != 1 {
		t.Errorf("the full-cone side gathered %+v, want one srflx candidate", c.Answerer.Candidates)
	}
	off, ans := c.Offerer.SelectedPair, c.Answerer.SelectedPair
	if off.Remote != "prflx" || off.RemoteSignalled != "" || ans.Local != "host" {
		t.Errorf("offerer %+v, answerer %+v: want the host candidate's mapping, unsignalled, as prflx", off, ans)
	}
}
