package probes

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// CandidateCounts counts ICE candidates by type (RFC 8445 section 5.1.1.1
// host, 5.1.1.2 server-reflexive and relayed, 7.3.1.3 peer-reflexive).
type CandidateCounts struct {
	// Host, Srflx, Prflx and Relay count candidates of each type.
	Host, Srflx, Prflx, Relay int
}

// Total returns the number of candidates of every type.
func (c CandidateCounts) Total() int { return c.Host + c.Srflx + c.Prflx + c.Relay }

func (c *CandidateCounts) add(t webrtc.ICECandidateType) {
	switch t {
	case webrtc.ICECandidateTypeHost:
		c.Host++
	case webrtc.ICECandidateTypeSrflx:
		c.Srflx++
	case webrtc.ICECandidateTypePrflx:
		c.Prflx++
	case webrtc.ICECandidateTypeRelay:
		c.Relay++
	}
}

// ICE is what the ICE agent of one PeerConnection did, from its
// candidate and candidate-pair statistics (W3C webrtc-stats
// RTCIceCandidateStats and RTCIceCandidatePairStats).
type ICE struct {
	// Local counts the candidates this side gathered.
	Local CandidateCounts
	// Remote counts the candidates it knows of the other side: signalled
	// ones, plus peer-reflexive ones learned from incoming checks.
	Remote CandidateCounts
	// Pairs is the number of candidate pairs in the checklist.
	Pairs int
	// ChecksSent is the number of STUN Binding requests sent on all pairs
	// (RFC 8445 section 7.2.4): connectivity checks, and once a pair is
	// selected pion's keepalives on it, which are Binding requests too.
	ChecksSent uint64
	// ChecksReceived is the number of Binding requests received.
	ChecksReceived uint64
	// Signalled maps the address:port of every remote candidate the other
	// side signalled (every type but prflx) to its type; where several
	// share an address (an open host's srflx equals its host candidate)
	// the most direct one: host, then srflx, then relay.
	Signalled map[string]string
}

// SignalledType returns the type of the signalled remote candidate at
// addr, and false when the other side signalled none there. ICE names a
// remote address peer-reflexive when a check from it arrives before the
// candidate itself (RFC 8445 section 7.3.1.3); pion keeps that name after
// the candidate arrives, so "prflx" alone does not tell whether the
// address was ever signalled.
func (i ICE) SignalledType(addr string) (string, bool) {
	t, ok := i.Signalled[addr]
	return t, ok
}

// signalledRank orders the types a peer signals, most direct first.
var signalledRank = map[string]int{"host": 1, "srflx": 2, "relay": 3}

// ReadICE reads the ICE statistics of pc. It returns false when pc has no
// ICE agent yet or was closed: pion then reports no candidates at all.
func ReadICE(pc *webrtc.PeerConnection) (ICE, bool) {
	var out ICE
	found := false
	for _, s := range pc.GetStats() {
		switch st := s.(type) {
		case webrtc.ICECandidateStats:
			found = true
			if st.Type == webrtc.StatsTypeLocalCandidate {
				out.Local.add(st.CandidateType)
			} else if st.Type == webrtc.StatsTypeRemoteCandidate {
				out.Remote.add(st.CandidateType)
				typ := st.CandidateType.String()
				if rank, ok := signalledRank[typ]; ok {
					addr := fmt.Sprintf("%s:%d", st.IP, st.Port) // as Pair's addresses
					if out.Signalled == nil {
						out.Signalled = map[string]string{}
					}
					if old, seen := out.Signalled[addr]; !seen || rank < signalledRank[old] {
						out.Signalled[addr] = typ
					}
				}
			}
		case webrtc.ICECandidatePairStats:
			found = true
			out.Pairs++
			out.ChecksSent += st.RequestsSent
			out.ChecksReceived += st.RequestsReceived
		}
	}
	return out, found
}
