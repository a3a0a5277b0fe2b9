package matrix

import (
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
)

func TestClassify(t *testing.T) {
	end := func(local, remote, signalled, relayProto string) End {
		return End{Connected: true, SelectedPair: &reports.CandidatePair{Local: local, Remote: remote, RemoteSignalled: signalled, RelayProtocol: relayProto}}
	}
	tests := []struct {
		name string
		a, b End
		want Path
	}{
		{"not connected", End{}, end("host", "host", "", ""), Failed},
		{"connected without a pair", End{Connected: true}, end("host", "host", "", ""), Failed},
		{"both host", end("host", "host", "", ""), end("host", "host", "", ""), Host},
		{"prflx that was signalled as host is host", end("host", "prflx", "host", ""), end("host", "host", "", ""), Host},
		{"learned address", end("host", "prflx", "", ""), end("host", "host", "", ""), Prflx},
		{"srflx on one side", end("host", "srflx", "", ""), end("srflx", "host", "", ""), Srflx},
		{"prflx signalled as srflx", end("host", "prflx", "srflx", ""), end("srflx", "host", "", ""), Srflx},
		{"relay on one end", end("host", "prflx", "relay", ""), end("relay", "prflx", "", "udp"), Relay},
		{"relay over tcp", end("relay", "host", "", "tcp"), end("host", "relay", "", ""), RelayTCP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.a, tt.b); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	open, sym, fc := PresetNAT("open"), PresetNAT("symmetric"), PresetNAT("full-cone")
	tests := []struct {
		cell       Cell
		path       Path
		err        string
		status     string
		deviation  string
		explainsAs string
	}{
		{Cell{STUNOnly, open, fc}, Srflx, "", StatusExpected, "", "srflx as expected: the NAT maps endpoint-independently"},
		{Cell{STUNOnly, open, fc}, Prflx, "", StatusDeviation, "pion-srflx-own-socket", "prflx where the RFCs expect srflx"},
		{Cell{STUNOnly, sym, fc}, Relay, "", StatusUnexpected, "", "expected prflx but got relay (offerer no pair, answerer no pair); expected because the symmetric side's checks"},
		{Cell{HostOnly, open, fc}, Prflx, "", StatusExpected, "", "prflx as expected"},
		{Cell{HostOnly, open, fc}, Failed, "network: boom", StatusError, "", "expected prflx, but the cell could not run: network: boom"},
		{Cell{HostOnly, open, fc}, Srflx, "", StatusUnexpected, "", "expected prflx but got srflx"}, // deviations apply to STUN configurations only
	}
	for _, tt := range tests {
		exp := tt.cell.Expect()
		c := CellResult{ICE: string(tt.cell.ICE), Row: tt.cell.Row.Name, Col: tt.cell.Col.Name, Expected: exp.Path, Why: exp.Why, Path: tt.path, Error: tt.err}
		c.judge(tt.cell)
		if c.Status != tt.status || c.Deviation != tt.deviation || !strings.HasPrefix(c.Explanation, tt.explainsAs) {
			t.Errorf("%s with %s: status %s, deviation %q, explanation %q", tt.cell, tt.path, c.Status, c.Deviation, c.Explanation)
		}
	}
}
