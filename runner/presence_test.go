package runner

import (
	"testing"

	"github.com/rtclab/rtclab/analysis"
)

func TestMeasurePresence(t *testing.T) {
	ev := func(at float64, source, kind, detail string) analysis.Event {
		return analysis.Event{T: at, Source: source, Kind: kind, Detail: detail}
	}
	state := func(at float64, s string) analysis.Event { return ev(at, "bob", "connection-state", "sfu: "+s) }
	for _, tc := range []struct {
		name     string
		events   []analysis.Event
		fraction float64
		stayed   bool
		dropAt   float64 // 0: no drop
		reason   string
	}{
		{"connected to the end", []analysis.Event{state(0.1, "connecting"), state(1, "connected")}, 0.9, true, 0, ""},
		{"closing after the end does not count", []analysis.Event{state(1, "connected"), state(10.5, "closed")}, 0.9, true, 0, ""},
		{"outage to the end", []analysis.Event{state(1, "connected"), state(6, "disconnected"), state(16, "failed")}, 0.5, false, 6, "PeerConnection disconnected"},
		{"disconnected for a while, back", []analysis.Event{state(1, "connected"), state(4, "disconnected"), state(6, "connected")}, 0.7, false, 4, "PeerConnection disconnected"},
		{"an ICE restart's connecting is not connected", []analysis.Event{state(1, "connected"), state(4, "connecting"), state(6, "connected")}, 0.7, true, 0, ""},
		{"never connected", []analysis.Event{state(0.1, "connecting"), state(5, "failed")}, 0, false, 0, ""},
		{"another participant's events", []analysis.Event{ev(1, "alice", "connection-state", "sfu: connected")}, 0, false, 0, ""},
		{"dropped by the SFU after its signaling was lost", []analysis.Event{
			state(1, "connected"), ev(7.5, "bob", "signaling-lost", "EOF"),
			ev(7.5, "sfu", "peer-removed", "bob: left signaling"), state(7.6, "closed"),
		}, 0.65, false, 7.5, "SFU peer-removed: left signaling after signaling lost at 7.500s"},
		{"the SFU's event for bobby is not bob's", []analysis.Event{state(1, "connected"), ev(3, "sfu", "peer-removed", "bobby: left signaling")}, 0.9, true, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := measurePresence(tc.events, "bob", "sfu", 10)
			if got.fraction != tc.fraction || got.stayed != tc.stayed {
				t.Errorf("fraction %v stayed %v, want %v %v", got.fraction, got.stayed, tc.fraction, tc.stayed)
			}
			switch {
			case tc.dropAt == 0 && got.drop != nil:
				t.Errorf("drop %+v, want none", *got.drop)
			case tc.dropAt != 0 && (got.drop == nil || got.drop.AtS != tc.dropAt || got.drop.Reason != tc.reason):
				t.Errorf("drop %+v, want at %v: %q", got.drop, tc.dropAt, tc.reason)
			}
		})
	}
}
