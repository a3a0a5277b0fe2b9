package runner

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pion/stun/v3"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// tsharkPeerAddresses reads, with tshark, the XOR-PEER-ADDRESS values
// (RFC 8656 section 14.3) of the CreatePermission and ChannelBind
// requests and Send indications in a capture that were sent to the TURN
// server at turnIP, de-XORed here from tshark's raw field
// (stun.att.ipv4-xord; RFC 8489 section 14.2: the address XOR the magic
// cookie): an independent parse of what the TURN server was told.
func tsharkPeerAddresses(t *testing.T, tshark, file, turnIP string) map[string]bool {
	t.Helper()
	out, err := exec.Command(tshark, "-r", file, "-d", "udp.port==3478,stun", "-Y",
		fmt.Sprintf("ip.dst == %s && (stun.type == 0x0008 || stun.type == 0x0009 || stun.type == 0x0016)", turnIP),
		"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "stun.att.ipv4-xord").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	got := map[string]bool{}
	for _, line := range strings.Fields(string(out)) {
		for _, x := range strings.Split(line, ",") {
			b, err := hex.DecodeString(strings.ReplaceAll(x, ":", ""))
			if err != nil || len(b) != 4 {
				t.Fatalf("tshark field %q", x)
			}
			ip := netip.AddrFrom4([4]byte{b[0] ^ 0x21, b[1] ^ 0x12, b[2] ^ 0xa4, b[3] ^ 0x42})
			if ip.String() != turnIP { // its own relayed addresses
				got[ip.String()] = true
			}
		}
	}
	return got
}

// turnLearnt is what the privacy section says the TURN server learnt
// from peer addresses: address -> class.
func turnLearnt(rep *reports.Report) map[string]string {
	out := map[string]string{}
	for _, a := range party(rep, scenarios.TURNHost) {
		if slices.ContainsFunc(a.Via, func(v string) bool { return strings.HasPrefix(v, "turn-") && v != reports.ViaAllocation }) {
			out[a.Address] = a.Class
		}
	}
	return out
}

// The TURN server learns, from its clients' peer addresses, every address
// ICE paired a relayed candidate with: through the NATs the private
// addresses from the candidates; on one LAN with mDNS the private
// addresses the .local names hid, after the other party resolved them;
// with relay_only nothing but relay addresses (its own, not listed). The
// section's list must equal tshark's parse of the TURN server's capture.
func TestPrivacyTURNPeerAddresses(t *testing.T) {
	tshark := realpeer.Binary(t, "tshark")
	for _, tc := range []struct {
		scenario string
		edit     []string
		want     map[string]string // address -> class; nil: nothing
	}{
		{"privacy/turn-p2p", nil, map[string]string{"10.0.1.2": reports.ClassPrivate, "10.0.2.2": reports.ClassPrivate,
			"203.0.113.10": reports.ClassPublic, "203.0.113.11": reports.ClassPublic}},
		{"privacy/mdns-lan", nil, map[string]string{"10.0.1.2": reports.ClassMDNSResolved, "10.0.1.3": reports.ClassMDNSResolved,
			"203.0.113.10": reports.ClassPublic}},
		{"privacy/relay-only", nil, nil},
	} {
		t.Run(strings.TrimPrefix(tc.scenario, "privacy/"), func(t *testing.T) {
			dir := t.TempDir()
			rep, err := runVirtual(t, privacyScenario(t, tc.scenario, "", tc.edit...), Options{CaptureDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			got := turnLearnt(rep)
			pcap := filepath.Join(dir, "turn.pcap")
			wire := tsharkPeerAddresses(t, tshark, pcap, tsharkTURNAddress(t, tshark, pcap))
			t.Logf("privacy section %v; tshark %v", got, wire)
			if len(got) != len(wire) {
				t.Errorf("the section lists %d peer addresses, tshark reads %d", len(got), len(wire))
			}
			for a := range wire {
				if _, ok := got[a]; !ok {
					t.Errorf("tshark reads peer address %s, the section does not list it", a)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("learnt %v, want %v", got, tc.want)
			}
			for a, class := range tc.want {
				if got[a] != class {
					t.Errorf("%s: class %q, want %q", a, got[a], class)
				}
			}
		})
	}
}

// tsharkTURNAddress is the TURN server's address in its capture: where
// the Allocate requests went.
func tsharkTURNAddress(t *testing.T, tshark, file string) string {
	t.Helper()
	out, err := exec.Command(tshark, "-r", file, "-d", "udp.port==3478,stun", "-Y", "stun.type == 0x0003",
		"-T", "fields", "-e", "ip.dst").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		t.Fatalf("no Allocate request in %s", file)
	}
	return f[0]
}

// turnMessage builds a STUN message of type typ with one XOR-PEER-ADDRESS
// per address, with pion's encoder.
func turnMessage(t testing.TB, typ stun.MessageType, addrs ...string) []byte {
	t.Helper()
	setters := []stun.Setter{stun.TransactionID, typ}
	for _, a := range addrs {
		ap := netip.MustParseAddrPort(a)
		setters = append(setters, peerSetter{stun.XORMappedAddress{IP: ap.Addr().AsSlice(), Port: int(ap.Port())}})
	}
	m, err := stun.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

type peerSetter struct{ a stun.XORMappedAddress }

func (p peerSetter) AddTo(m *stun.Message) error { return p.a.AddToAs(m, stun.AttrXORPeerAddress) }

func TestTURNPeerAddresses(t *testing.T) {
	perm := turnMessage(t, stun.NewType(stun.MethodCreatePermission, stun.ClassRequest), "10.0.1.2:5000", "203.0.113.10:6000")
	bind := turnMessage(t, stun.NewType(stun.MethodChannelBind, stun.ClassRequest), "[fd00::2]:7000")
	send := turnMessage(t, stun.NewType(stun.MethodSend, stun.ClassIndication), "198.51.100.20:8000")
	alloc := turnMessage(t, stun.NewType(stun.MethodAllocate, stun.ClassRequest))
	permResp := turnMessage(t, stun.NewType(stun.MethodCreatePermission, stun.ClassSuccessResponse), "10.9.9.9:1")
	channelData := []byte{0x40, 0x00, 0x00, 0x03, 1, 2, 3, 0} // 3 bytes, padded to 4 over TCP
	for _, tc := range []struct {
		name string
		b    []byte
		tcp  bool
		want []string
	}{
		{"CreatePermission with two peers", perm, false, []string{"10.0.1.2 turn-permission", "203.0.113.10 turn-permission"}},
		{"ChannelBind, IPv6", bind, false, []string{"fd00::2 turn-channel-bind"}},
		{"Send indication", send, false, []string{"198.51.100.20 turn-send"}},
		{"Allocate: no peer", alloc, false, nil},
		{"a response carries no client's peer", permResp, false, nil},
		{"ChannelData over UDP", channelData, false, nil},
		{"TCP: ChannelData then two messages", slices.Concat(channelData, send, perm), true,
			[]string{"198.51.100.20 turn-send", "10.0.1.2 turn-permission", "203.0.113.10 turn-permission"}},
		{"UDP: only the first message of a datagram", slices.Concat(send, perm), false, []string{"198.51.100.20 turn-send"}},
		{"TCP: a message cut by the segment's end", slices.Concat(send, perm[:30]), true, []string{"198.51.100.20 turn-send"}},
		{"garbage", []byte{0xff, 1, 2, 3, 4, 5}, true, nil},
		{"empty", nil, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, pa := range turnPeerAddresses(tc.b, tc.tcp) {
				got = append(got, pa.addr.String()+" "+pa.via)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzTURNPeerAddresses(f *testing.F) {
	f.Add(turnMessage(f, stun.NewType(stun.MethodCreatePermission, stun.ClassRequest), "10.0.1.2:5000", "[fd00::1]:9"), true)
	f.Add(slices.Concat([]byte{0x40, 0, 0, 1, 9, 0, 0, 0}, turnMessage(f, stun.NewType(stun.MethodSend, stun.ClassIndication), "1.2.3.4:5")), true)
	f.Fuzz(func(t *testing.T, b []byte, tcp bool) {
		for _, pa := range turnPeerAddresses(b, tcp) {
			if !pa.addr.IsValid() || pa.via == "" {
				t.Fatalf("%+v", pa)
			}
		}
	})
}
