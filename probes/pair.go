package probes

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Pair is an ICE candidate pair as the reports show it.
type Pair struct {
	// Local and Remote are candidate types: host, srflx, prflx, relay.
	Local, Remote string
	// Protocol is "udp" or "tcp".
	Protocol string
	// LocalAddress and RemoteAddress are "ip:port".
	LocalAddress, RemoteAddress string
	// RelayProtocol is how a local relay candidate reaches its TURN
	// server: "udp", "tcp" or "tls" ("" for other candidate types).
	RelayProtocol string
	// RTTMS is the pair's current STUN round-trip time in ms (0 if unknown).
	RTTMS float64
}

// SelectedPair returns the pair ICE selected, and false when there is none
// (not connected, or closed).
func SelectedPair(pc *webrtc.PeerConnection) (Pair, bool) {
	sctp := pc.SCTP()
	if sctp == nil {
		return Pair{}, false
	}
	var ice *webrtc.ICETransport
	if dtls := sctp.Transport(); dtls != nil {
		ice = dtls.ICETransport()
	}
	if ice == nil {
		return Pair{}, false
	}
	cp, err := ice.GetSelectedCandidatePair()
	if err != nil || cp == nil || cp.Local == nil || cp.Remote == nil {
		return Pair{}, false
	}
	p := Pair{
		Local:         cp.Local.Typ.String(),
		Remote:        cp.Remote.Typ.String(),
		Protocol:      cp.Local.Protocol.String(),
		LocalAddress:  fmt.Sprintf("%s:%d", cp.Local.Address, cp.Local.Port),
		RemoteAddress: fmt.Sprintf("%s:%d", cp.Remote.Address, cp.Remote.Port),
	}
	if st, ok := ice.GetSelectedCandidatePairStats(); ok {
		p.RTTMS = st.CurrentRoundTripTime * 1000
	}
	if cp.Local.Typ == webrtc.ICECandidateTypeRelay {
		p.RelayProtocol = relayProtocol(pc, cp.Local)
	}
	return p, true
}

// relayProtocol finds the relay candidate's transport to its TURN server
// in the connection's stats (webrtc.ICECandidate does not carry it).
func relayProtocol(pc *webrtc.PeerConnection, c *webrtc.ICECandidate) string {
	for _, s := range pc.GetStats() {
		cs, ok := s.(webrtc.ICECandidateStats)
		if ok && cs.CandidateType == webrtc.ICECandidateTypeRelay && cs.IP == c.Address && cs.Port == int32(c.Port) {
			return cs.RelayProtocol
		}
	}
	return ""
}
