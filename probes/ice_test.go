package probes

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestCandidateCounts(t *testing.T) {
	var c CandidateCounts
	for _, typ := range []webrtc.ICECandidateType{
		webrtc.ICECandidateTypeHost, webrtc.ICECandidateTypeSrflx, webrtc.ICECandidateTypeSrflx,
		webrtc.ICECandidateTypePrflx, webrtc.ICECandidateTypeRelay, webrtc.ICECandidateTypeUnknown,
	} {
		c.add(typ)
	}
	if c != (CandidateCounts{Host: 1, Srflx: 2, Prflx: 1, Relay: 1}) || c.Total() != 5 {
		t.Errorf("counts %+v total %d", c, c.Total())
	}
}

// TestReadICEBeforeGathering: a PeerConnection that has not gathered has
// no ICE statistics, which ReadICE reports as not measured.
func TestReadICEBeforeGathering(t *testing.T) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if st, ok := ReadICE(pc); ok || st.Pairs != 0 || st.Local.Total() != 0 {
		t.Errorf("ReadICE = %+v, %v before any gathering", st, ok)
	}
	if _, ok := (ICE{}).SignalledType("203.0.113.1:5000"); ok {
		t.Error("SignalledType found an address in empty stats")
	}
}
