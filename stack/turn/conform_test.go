package turn_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v3/stdnet"
	pionturn "github.com/pion/turn/v4"

	"github.com/rtclab/rtclab/conform"
	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/stack/turn"
)

var (
	peers   = []net.IP{net.ParseIP("127.0.0.2"), net.ParseIP("127.0.0.3")}
	allowed = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix("127.0.0.3/32")}
)

// startTURN runs the server on loopback UDP and TCP with policy.
func startTURN(t *testing.T, policy func(net.IP) bool) []conform.Target {
	t.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := turn.New(turn.Config{
		Net: n, RelayIP: net.ParseIP("127.0.0.1").To4(), UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", Secret: "s", AllowPeer: policy,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	var out []conform.Target
	for _, u := range []string{"turn:" + srv.Addr("udp").String(), "turn:" + srv.Addr("tcp").String() + "?transport=tcp"} {
		tg, err := conform.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		tg.Secret, tg.PeerIPs, tg.Allowed, tg.Timeout = "s", peers, allowed, 300*time.Millisecond
		out = append(out, tg)
	}
	return out
}

// TestConform runs every MUST of `rtclab conform` against the server with
// its default policy (and the suite's two loopback peers allowed). It
// fails on the build before pionfix.go/screen.go/policy.go: refused
// CreatePermission without ERROR-CODE, refused ChannelBind 401, 437 with
// no reason and no 437 at all after a deletion, permissions granted to
// 255.255.255.255, 240.0.0.1, 198.18.0.1, 192.0.0.1, 64:ff9b::7f00:1 and
// to 2001:db8::1 on an IPv4 relay, channel 0x3FFF bound, wrong passwords
// answered 400, bad FINGERPRINTs and unknown comprehension-required
// attributes answered with success.
func TestConform(t *testing.T) {
	leakcheck.Check(t)
	targets := startTURN(t, turn.AllowingPeers(turn.PeerAllowed, allowed))
	sel, err := conform.Filter("must && !rfc5780")
	if err != nil {
		t.Fatal(err)
	}
	results := conform.Run(context.Background(), targets, sel, nil)
	if len(results) < 80 {
		t.Fatalf("only %d checks ran", len(results))
	}
	for _, r := range results {
		if r.Failed() || r.Status == conform.Skipped && r.Check != "turn-quota" && !(r.Check == "rfc6062-tcp-allocation" && strings.HasPrefix(r.URL, "turn:") && !strings.Contains(r.URL, "tcp")) {
			t.Errorf("%s", conform.Line(r))
		}
	}
}

// TestConformCatchesOpenPolicy runs the security checks against a
// deliberately broken server that relays anywhere: exactly the checks of
// IPv4 forbidden peers must fail (IPv6 peers are still refused, 443, on
// this IPv4 relay), and the loopback ones must prove the bypass on the
// suite's own listener.
func TestConformCatchesOpenPolicy(t *testing.T) {
	leakcheck.Check(t)
	targets := startTURN(t, func(net.IP) bool { return true })
	sel, err := conform.Filter("security || turn")
	if err != nil {
		t.Fatal(err)
	}
	wantFail := []string{
		"security-peer-loopback", "security-peer-loopback-other", "security-peer-unspecified",
		"security-peer-rfc1918-10", "security-peer-rfc1918-172", "security-peer-rfc1918-192",
		"security-peer-link-local", "security-peer-cloud-metadata", "security-peer-this-network",
		"security-peer-cgnat", "security-peer-ietf-protocol", "security-peer-benchmarking",
		"security-peer-reserved", "security-peer-broadcast", "security-peer-multicast",
		"security-auth-rate-limit", // a SHOULD no server here meets
		// a SHOULD rtclab's server fails on purpose (RFC 5766 clients;
		// screen.go's channel range)
		"turn-channel-range-rfc8656",
	}
	var failed []string
	for _, r := range conform.Run(context.Background(), targets, sel, nil) {
		if r.Status == conform.Error {
			t.Errorf("%s", conform.Line(r))
		}
		if r.Status != conform.Fail {
			continue
		}
		failed = append(failed, r.Check)
		if (r.Check == "security-peer-loopback" || r.Check == "security-peer-unspecified") && !strings.Contains(r.Detail, "BYPASS") {
			t.Errorf("%s: the datagram to the suite's loopback listener was not seen: %s", r.Check, r.Detail)
		}
	}
	slices.Sort(failed)
	failed = slices.Compact(failed) // the same on UDP and TCP
	slices.Sort(wantFail)
	if !slices.Equal(failed, wantFail) {
		t.Errorf("failed checks:\n  %v\nwant exactly:\n  %v", failed, wantFail)
	}
}

// portKeyedRelay makes a test-only pion/turn server key permissions by
// peer port as well as IP (the fault of pion/turn#65): its relay sockets
// drop datagrams from any peer transport address the client has not sent
// to.
type portKeyedRelay struct{ pionturn.RelayAddressGenerator }

func (g portKeyedRelay) AllocatePacketConn(network string, port int) (net.PacketConn, net.Addr, error) {
	pc, addr, err := g.RelayAddressGenerator.AllocatePacketConn(network, port)
	if err != nil {
		return nil, nil, err
	}
	return &portKeyedConn{PacketConn: pc, sent: map[string]bool{}}, addr, nil
}

type portKeyedConn struct {
	net.PacketConn
	mu   sync.Mutex
	sent map[string]bool
}

func (c *portKeyedConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	c.sent[addr.String()] = true
	c.mu.Unlock()
	return c.PacketConn.WriteTo(b, addr)
}

func (c *portKeyedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		c.mu.Lock()
		ok := c.sent[addr.String()]
		c.mu.Unlock()
		if ok {
			return n, addr, nil
		}
	}
}

// rawPion starts pion/turn as configured by hand, without rtclab's
// policy and fixes, optionally with port-keyed permissions.
func rawPion(t *testing.T, portKeyed bool) conform.Target {
	t.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var gen pionturn.RelayAddressGenerator = &pionturn.RelayAddressGeneratorStatic{
		RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1", Net: n,
	}
	if portKeyed {
		gen = portKeyedRelay{gen}
	}
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	allow := turn.AllowingPeers(turn.PeerAllowed, allowed)
	srv, err := pionturn.NewServer(pionturn.ServerConfig{
		Realm:       "rtclab",
		AuthHandler: pionturn.LongTermTURNRESTAuthHandler("s", quiet.NewLogger("turn")),
		PacketConnConfigs: []pionturn.PacketConnConfig{{
			PacketConn: pc, RelayAddressGenerator: gen,
			PermissionHandler: func(_ net.Addr, ip net.IP) bool { return allow(ip) },
		}},
		LoggerFactory: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	tg, err := conform.ParseURL("turn:" + pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	tg.Secret, tg.PeerIPs, tg.Allowed, tg.Timeout = "s", peers, allowed, 300*time.Millisecond
	return tg
}

// TestConformCatchesPortKeyedPermissions: a server keying permissions by
// port fails exactly turn-permission-ip-only more than the same server
// keying them by IP.
func TestConformCatchesPortKeyedPermissions(t *testing.T) {
	leakcheck.Check(t)
	sel, err := conform.Filter("turn && !security")
	if err != nil {
		t.Fatal(err)
	}
	failing := func(tg conform.Target) map[string]bool {
		out := map[string]bool{}
		for _, r := range conform.Run(context.Background(), []conform.Target{tg}, sel, nil) {
			if r.Status == conform.Fail || r.Status == conform.Error {
				out[r.Check] = true
			}
		}
		return out
	}
	base, broken := failing(rawPion(t, false)), failing(rawPion(t, true))
	var extra []string
	for c := range broken {
		if !base[c] {
			extra = append(extra, c)
		}
	}
	for c := range base {
		if !broken[c] {
			t.Errorf("%s failed only on the IP-keyed server", c)
		}
	}
	if !slices.Equal(extra, []string{"turn-permission-ip-only"}) {
		t.Errorf("port-keyed permissions failed %v more, want exactly [turn-permission-ip-only]", extra)
	}
}
