package conform

import (
	"encoding/hex"
	"net"
	"strings"
	"testing"

	"github.com/pion/stun/v3"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC5769 checks the suite's own codec against the RFC 5769 test
// vectors: the sample request's (§2.1) MESSAGE-INTEGRITY and FINGERPRINT
// verify with its short-term password, and the XOR-MAPPED-ADDRESS the
// suite encodes for 192.0.2.1:32853 is the sample IPv4 response's (§2.2).
func TestRFC5769(t *testing.T) {
	req := unhex(t, `
		00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
		80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
		00 24 00 04 6e 00 01 ff
		80 29 00 08 93 2f f9 b1 51 26 3b 36
		00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
		00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
		80 28 00 04 e5 7a 3b cf`)
	m := &stun.Message{Raw: req}
	if err := m.Decode(); err != nil {
		t.Fatal(err)
	}
	if err := stun.Fingerprint.Check(m); err != nil {
		t.Errorf("§2.1 FINGERPRINT: %v", err)
	}
	if err := stun.NewShortTermIntegrity("VOkJxbRl1RmTxUk/WvJxBt").Check(m); err != nil {
		t.Errorf("§2.1 MESSAGE-INTEGRITY: %v", err)
	}
	bad := append([]byte(nil), req...)
	bad[len(bad)-1] ^= 1
	bm := &stun.Message{Raw: bad}
	if err := bm.Decode(); err != nil || stun.Fingerprint.Check(bm) == nil {
		t.Errorf("a flipped FINGERPRINT bit still verifies (%v)", err)
	}

	out := &stun.Message{TransactionID: m.TransactionID}
	out.WriteHeader()
	a := xorAddr{t: stun.AttrXORMappedAddress, ip: net.ParseIP("192.0.2.1"), port: 32853}
	if err := a.AddTo(out); err != nil {
		t.Fatal(err)
	}
	got, _ := out.Get(stun.AttrXORMappedAddress)
	if want := unhex(t, "00 01 a1 47 e1 12 a6 43"); string(got) != string(want) {
		t.Errorf("§2.2 XOR-MAPPED-ADDRESS: got % x, want % x", got, want)
	}
}

// TestXORAddrMappedStaysIPv6 checks that the security checks really send
// IPv4-mapped peers in the IPv6 family (20 bytes), where net.IP would
// collapse them to IPv4.
func TestXORAddrMappedStaysIPv6(t *testing.T) {
	m := &stun.Message{}
	m.WriteHeader()
	if err := peerAddr(net.ParseIP("::ffff:127.0.0.1"), 9).AddTo(m); err == nil {
		v, _ := m.Get(stun.AttrXORPeerAddress)
		if len(v) != 8 {
			t.Errorf("natural family of ::ffff:127.0.0.1 is IPv4 in net.IP: got %d bytes", len(v))
		}
	}
	m2 := &stun.Message{}
	m2.WriteHeader()
	if err := (xorAddr{t: stun.AttrXORPeerAddress, ip: net.ParseIP("::ffff:127.0.0.1"), port: 9, v6: true}).AddTo(m2); err != nil {
		t.Fatal(err)
	}
	v, _ := m2.Get(stun.AttrXORPeerAddress)
	if len(v) != 20 || v[1] != 0x02 {
		t.Errorf("mapped form: family %x, %d bytes; want IPv6, 20", v[1], len(v))
	}
	var back stun.XORMappedAddress
	if err := back.GetFromAs(m2, stun.AttrXORPeerAddress); err != nil || !back.IP.Equal(net.ParseIP("::ffff:127.0.0.1")) || back.Port != 9 {
		t.Errorf("decoded %v (%v)", back, err)
	}
}

func TestParseURL(t *testing.T) {
	for _, tt := range []struct {
		url, transport, addr string
		turn, bad            bool
	}{
		{url: "stun:127.0.0.1:3479", transport: "udp", addr: "127.0.0.1:3479"},
		{url: "turn:turn.example.com", transport: "udp", addr: "turn.example.com:3478", turn: true},
		{url: "turn:198.51.100.1:3478?transport=tcp", transport: "tcp", addr: "198.51.100.1:3478", turn: true},
		{url: "turns:turn.example.com", transport: "tls", addr: "turn.example.com:5349", turn: true},
		{url: "http://example.com", bad: true},
		{url: "turn:", bad: true},
	} {
		got, err := ParseURL(tt.url)
		if tt.bad {
			if err == nil {
				t.Errorf("%s: no error", tt.url)
			}
			continue
		}
		if err != nil || got.Transport != tt.transport || got.Addr != tt.addr || got.TURN != tt.turn {
			t.Errorf("%s: %+v, %v", tt.url, got, err)
		}
	}
}

func TestFilter(t *testing.T) {
	must := Check{ID: "a", Level: Must, Labels: []string{"turn", "security"}}
	should := Check{ID: "b", Level: Should, Labels: []string{"stun"}}
	for _, tt := range []struct {
		expr       string
		must, shld bool
	}{
		{"", true, true},
		{"security", true, false},
		{"stun || turn", true, true},
		{"!should", true, false},
		{"turn && should", false, false},
	} {
		f, err := Filter(tt.expr)
		if err != nil {
			t.Fatalf("%q: %v", tt.expr, err)
		}
		if f(must) != tt.must || f(should) != tt.shld {
			t.Errorf("%q: must %v should %v", tt.expr, f(must), f(should))
		}
	}
	if _, err := Filter("security &&"); err == nil {
		t.Error("a broken expression was accepted")
	}
}
