package matrix

import "slices"

// Deviation is a known behaviour of the stack under test (pion/ice
// v4.1.0 in rtclab's peers) that gives a cell another path than the RFC
// model in the expectations table. A cell whose path is the one a
// deviation explains is reported as such and does not fail the grid; a
// test pins each deviation, so it is noticed when pion changes.
type Deviation struct {
	// Name identifies the deviation in results.
	Name string
	// Expected is the path the RFC model expects, and Got the paths the
	// deviation explains instead.
	Expected Path
	Got      []Path
	// ICE lists the configurations it occurs in.
	ICE []ICEConfig
	// Why explains it in one line.
	Why string
	// When says in words which cells it can occur in; when is that
	// condition (nil: every cell of ICE).
	When string
	when func(pair) bool
}

// Deviations lists the known behaviours of pion that differ from the
// RFC model.
var Deviations = []Deviation{
	{
		Name: "pion-srflx-own-socket", Expected: Srflx, Got: []Path{Prflx}, ICE: stunICE,
		When: "every cell where the RFC model expects srflx",
		Why: "pion gathers each server-reflexive candidate on a UDP socket of its own (pion/ice gatherCandidatesSrflx), " +
			"not on its host candidate's (RFC 8445 5.1.1.2 makes the host candidate its base), so checks from the host " +
			"candidate leave through another NAT mapping, which the peer can only learn as peer-reflexive",
	},
	{
		Name: "pion-srflx-own-socket-lan", Expected: Host, Got: []Path{Prflx}, ICE: []ICEConfig{MDNSLAN},
		When: "every cell of one LAN (measured: symmetric)",
		Why: "pion's server-reflexive candidate has a socket of its own on the host's private address; on a LAN its checks " +
			"reach the peer's resolved host address directly, from a port the peer never got as a candidate, so the peer " +
			"learns it as peer-reflexive (RFC 8445 6.1.2.4 would prune the pair as redundant with its base's)",
	},
}

// deviation returns the known deviation that explains path in cell c
// (the sides' behaviours a, b) where the RFC model expects e, if any.
func deviation(c Cell, e, path Path) (Deviation, bool) {
	p := pair{c.Row.Behaviour(), c.Col.Behaviour()}
	for _, d := range Deviations {
		if d.Expected != e || !slices.Contains(d.Got, path) || !slices.Contains(d.ICE, c.ICE) {
			continue
		}
		if d.when != nil && !d.when(p) {
			continue
		}
		return d, true
	}
	return Deviation{}, false
}
