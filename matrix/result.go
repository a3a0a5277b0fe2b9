package matrix

import (
	"fmt"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/shard"
)

// Schema is the value of Result.Schema; fields are only ever added
// within a version.
const Schema = "rtclab.matrix/v1"

// Result is a whole grid: what ran and what happened in every cell. It is
// plain data; matrix.json is this struct encoded as JSON.
type Result struct {
	// Schema is always "rtclab.matrix/v1".
	Schema string `json:"schema"`
	// Tool names the program and its version, e.g. "rtclab dev".
	Tool string `json:"tool"`
	// File is the matrix file that shaped the grid; empty for the default.
	File string `json:"file,omitempty"`
	// NATs names the rows and columns, in order.
	NATs []string `json:"nats"`
	// ICE names the configurations, one panel each, in order.
	ICE []string `json:"ice"`
	// Seed seeds every cell's emulated network.
	Seed int64 `json:"seed"`
	// CellSeconds is each cell's scenario time, which is also its time
	// limit to connect.
	CellSeconds float64 `json:"cell_seconds"`
	// Clock is "virtual": every cell runs in a testing/synctest bubble;
	// "real" on the kernel backend.
	Clock string `json:"clock"`
	// Backend is "kernel" when the cells ran in network namespaces
	// (rtclab matrix --backend kernel); absent for the in-process backend.
	Backend string `json:"backend,omitempty"`
	// StartedAt is the wall-clock start of the grid (RFC 3339).
	StartedAt string `json:"started_at"`
	// WallSeconds is how long the whole grid took on the wall clock.
	WallSeconds float64 `json:"wall_seconds"`
	// Workers is how many cells ran at once.
	Workers int `json:"workers"`
	// Verdict is "pass" when every cell ran and matched its expectation,
	// else "fail".
	Verdict string `json:"verdict"`
	// Partial is true when the grid was interrupted: cells not run are
	// absent.
	Partial bool `json:"partial"`
	// Matched counts cells whose path is the expected one; Deviations
	// those whose path a known pion behaviour explains (see Deviations);
	// Unexpected the others; Errors the cells that could not run.
	Matched    int `json:"matched"`
	Deviations int `json:"deviations"`
	Unexpected int `json:"unexpected"`
	Errors     int `json:"errors"`
	// Cells lists every cell that ran, by ICE configuration, row, column.
	Cells []CellResult `json:"cells"`
	// Shard is set in one shard's output (--shard I/N): Cells then hold
	// that shard's cells only. Absent in a whole or merged grid.
	Shard *shard.Shard `json:"shard,omitempty"`
}

// CellResult is one cell: the offerer (row) calling the answerer
// (column) with one ICE configuration.
type CellResult struct {
	// ICE is the ICE configuration.
	ICE string `json:"ice"`
	// Row is the offerer's NAT (ICE controlling side).
	Row string `json:"row"`
	// Col is the answerer's NAT (ICE controlled side).
	Col string `json:"col"`
	// Expected is the path the expectations table demands.
	Expected Path `json:"expected"`
	// Rule names the row of the expectations table that decided Expected.
	Rule string `json:"rule"`
	// Why explains Expected in one line, citing the RFCs.
	Why string `json:"why"`
	// Path is the path measured.
	Path Path `json:"path"`
	// Match is true when Path equals Expected.
	Match bool `json:"match"`
	// Status is "expected" (Path is Expected), "deviation" (a known
	// behaviour of pion explains Path), "unexpected" or "error".
	Status string `json:"status"`
	// Deviation names the known pion behaviour when Status is
	// "deviation".
	Deviation string `json:"deviation,omitempty"`
	// Explanation is one line: what was expected, why, and what happened
	// instead when it did not match.
	Explanation string `json:"explanation"`
	// Connected is true when both ends reached "connected".
	Connected bool `json:"connected"`
	// TimeToConnectMS is the call setup time in ms: from the moment both
	// ends had joined to the moment both were connected (scenario time,
	// from the run's events); null when the cell did not connect.
	TimeToConnectMS *float64 `json:"time_to_connect_ms"`
	// Offerer and Answerer are what each end measured.
	Offerer  End `json:"offerer"`
	Answerer End `json:"answerer"`
	// Error says why the cell could not run; the other fields are then
	// empty and Path is "failed".
	Error string `json:"error,omitempty"`
}

// End is one side of a cell.
type End struct {
	// Connected is true when its PeerConnection reached "connected".
	Connected bool `json:"connected"`
	// TimeToConnectMS is join to "connected" in ms; null if never.
	TimeToConnectMS *float64 `json:"time_to_connect_ms"`
	// SelectedPair is its selected ICE candidate pair; null when none.
	SelectedPair *reports.CandidatePair `json:"selected_pair"`
	// Candidates counts the candidates it gathered, by type.
	Candidates reports.CandidateCounts `json:"candidates"`
	// RemoteCandidates counts the other end's candidates it knew of,
	// peer-reflexive ones included.
	RemoteCandidates reports.CandidateCounts `json:"remote_candidates"`
	// ChecksSent is the number of STUN Binding requests it sent on all
	// candidate pairs (connectivity checks, then keepalives).
	ChecksSent uint64 `json:"checks_sent"`
}

// Classify names the path of a cell from what its two ends measured.
// Not connected on both ends is Failed; a relayed candidate on either
// end of either pair is Relay, or RelayTCP when an end reaches its TURN
// server over TCP. Otherwise each end's remote candidate is
// taken by the address it names: a "prflx" remote at an address the
// other end also signalled counts as the signalled type (ICE only named
// it for arriving first, RFC 8445 7.3.1.3). Host on both ends is Host;
// a peer-reflexive address left on either end is Prflx; else Srflx.
func Classify(a, b End) Path {
	if !a.Connected || !b.Connected || a.SelectedPair == nil || b.SelectedPair == nil {
		return Failed
	}
	pa, pb := a.SelectedPair, b.SelectedPair
	if pa.RelayProtocol == "tcp" || pb.RelayProtocol == "tcp" {
		return RelayTCP
	}
	for _, t := range []string{pa.Local, pa.Remote, pb.Local, pb.Remote} {
		if t == "relay" {
			return Relay
		}
	}
	ra, rb := remoteType(pa), remoteType(pb)
	switch {
	case ra == "host" && rb == "host":
		return Host
	case ra == "prflx" || rb == "prflx":
		return Prflx
	}
	return Srflx
}

func remoteType(p *reports.CandidatePair) string {
	if p.Remote == "prflx" && p.RemoteSignalled != "" {
		return p.RemoteSignalled
	}
	return p.Remote
}

// Cell statuses.
const (
	StatusExpected   = "expected"
	StatusDeviation  = "deviation"
	StatusUnexpected = "unexpected"
	StatusError      = "error"
)

// judge fills Match, Status, Deviation and Explanation of the result of
// cell.
func (c *CellResult) judge(cell Cell) {
	c.Match = c.Error == "" && c.Path == c.Expected
	switch {
	case c.Error != "":
		c.Status = StatusError
	case c.Match:
		c.Status = StatusExpected
	default:
		c.Status = StatusUnexpected
		if d, ok := deviation(cell, c.Expected, c.Path); ok {
			c.Status, c.Deviation = StatusDeviation, d.Name
		}
	}
	c.Explanation = c.explain()
}

// explain is a cell's one-line explanation.
func (c CellResult) explain() string {
	if c.Error != "" {
		return fmt.Sprintf("expected %s, but the cell could not run: %s", c.Expected, c.Error)
	}
	if c.Match {
		return fmt.Sprintf("%s as expected: %s", c.Path, c.Why)
	}
	if c.Status == StatusDeviation {
		return fmt.Sprintf("%s where the RFCs expect %s (%s): known pion behaviour %s: %s", c.Path, c.Expected, c.pairs(), c.Deviation, deviationWhy(c.Deviation))
	}
	return fmt.Sprintf("expected %s but got %s (%s); expected because %s", c.Expected, c.Path, c.pairs(), c.Why)
}

// pairs describes both ends' selected pairs, e.g. "a: host -> prflx, b: host -> host".
func (c CellResult) pairs() string {
	one := func(e End) string {
		if e.SelectedPair == nil {
			return "no pair"
		}
		s := e.SelectedPair.Local + " -> " + e.SelectedPair.Remote
		if e.SelectedPair.RemoteSignalled != "" {
			s += " (signalled as " + e.SelectedPair.RemoteSignalled + ")"
		}
		return s
	}
	return fmt.Sprintf("offerer %s, answerer %s", one(c.Offerer), one(c.Answerer))
}

func deviationWhy(name string) string {
	for _, d := range Deviations {
		if d.Name == name {
			return d.Why
		}
	}
	return ""
}
