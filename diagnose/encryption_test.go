package diagnose

import (
	"testing"

	"github.com/rtclab/rtclab/probes/pathprobe"
)

func TestEncryption(t *testing.T) {
	const (
		peerFP  = "sha-256 AA:BB:CC:DD:EE:FF"
		otherFP = "sha-256 11:22:33:44:55:66"
		turnURL = "turn:198.51.100.1:3478?transport=udp"
	)
	type want struct{ server, role, addr, media string }
	for _, tc := range []struct {
		name string
		path pathprobe.Result
		want []want
	}{
		{"direct path: the test peer terminates, no relay",
			pathprobe.Result{Kind: pathprobe.Host, OK: true, Local: "host udp 10.0.0.2:5000", Remote: "host udp 203.0.113.5:6000",
				DTLSFingerprint: peerFP, PeerFingerprint: peerFP},
			[]want{{TestPeer, RoleEndpoint, "203.0.113.5:6000", MediaTerminated}}},
		{"relay path: the relay carries ciphertext to the peer that terminates",
			pathprobe.Result{Kind: pathprobe.RelayUDP, OK: true, Local: "relay udp 198.51.100.1:50000", Remote: "host udp 203.0.113.5:6000",
				Relay: turnURL, DTLSFingerprint: peerFP, PeerFingerprint: peerFP},
			[]want{{turnURL, RoleRelay, "198.51.100.1:50000", MediaEndToEnd}, {TestPeer, RoleEndpoint, "203.0.113.5:6000", MediaTerminated}}},
		{"fingerprints compared without case",
			pathprobe.Result{Kind: pathprobe.RelayTCP, OK: true, Local: "198.51.100.1:50000 relay", Remote: "203.0.113.5:6000 host",
				Relay: turnURL, DTLSFingerprint: peerFP, PeerFingerprint: "SHA-256 aa:bb:cc:dd:ee:ff"},
			[]want{{turnURL, RoleRelay, "198.51.100.1:50000", MediaEndToEnd}, {TestPeer, RoleEndpoint, "203.0.113.5:6000", MediaTerminated}}},
		{"a certificate other than the answer's: nothing is claimed",
			pathprobe.Result{Kind: pathprobe.RelayUDP, OK: true, Local: "relay udp 198.51.100.1:50000", Remote: "host udp 203.0.113.5:6000",
				Relay: turnURL, DTLSFingerprint: otherFP, PeerFingerprint: peerFP},
			[]want{{turnURL, RoleRelay, "198.51.100.1:50000", MediaUnknown}, {TestPeer, RoleEndpoint, "203.0.113.5:6000", MediaUnknown}}},
		{"no certificate read (a result from before the field)",
			pathprobe.Result{Kind: pathprobe.Srflx, OK: true, Local: "srflx udp 203.0.113.9:7000", Remote: "host udp 203.0.113.5:6000"},
			[]want{{TestPeer, RoleEndpoint, "203.0.113.5:6000", MediaUnknown}}},
		{"a path that did not connect says nothing",
			pathprobe.Result{Kind: pathprobe.RelayTLS, Relay: turnURL, DTLSFingerprint: peerFP, PeerFingerprint: peerFP},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := encryption([]pathprobe.Result{tc.path})
			if len(got) != len(tc.want) {
				t.Fatalf("%d entries %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Path != tc.path.Kind || g.Server != w.server || g.Role != w.role || g.Address != w.addr || g.Media != w.media || g.Why == "" {
					t.Errorf("entry %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}
