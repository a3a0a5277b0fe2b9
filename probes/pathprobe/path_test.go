package pathprobe_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/internal/leakcheck"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/stack/stunserver"
	"github.com/rtclab/rtclab/stack/testpeer"
	rtcturn "github.com/rtclab/rtclab/stack/turn"
)

func TestPathsLoopback(t *testing.T) {
	leakcheck.Check(t)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	lo := net.IPv4(127, 0, 0, 1)
	peer, err := testpeer.New(testpeer.Config{IPs: []net.IP{lo}, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(peer.Handler())
	tlsCfg, pool, _, err := rtcturn.SelfSigned([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	turnSrv, err := rtcturn.New(rtcturn.Config{
		Net: n, RelayIP: lo, Secret: "s", AllowPeer: func(net.IP) bool { return true },
		UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0", TLSConfig: tlsCfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	stunSrv, err := stunserver.New(stunserver.Config{Net: n, Primary: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := rtcturn.Credentials("s", "t", time.Hour)
	signal := pathprobe.HTTPSignal(web.Client(), web.URL)
	urls := map[pathprobe.Kind]string{
		pathprobe.RelayUDP: "turn:" + turnSrv.Addr("udp").String(),
		pathprobe.RelayTCP: "turn:" + turnSrv.Addr("tcp").String() + "?transport=tcp",
		pathprobe.RelayTLS: "turns:" + turnSrv.Addr("tls").String(),
	}
	ctx := context.Background()
	for _, kind := range pathprobe.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			c, res, err := pathprobe.Connect(ctx, pathprobe.Params{
				Kind: kind, Signal: signal, Net: n, IncludeLoopback: true, IPs: []net.IP{lo},
				STUN: "stun:" + stunSrv.Primary().String(),
				TURN: urls[kind], Username: user, Password: pass,
				TLSConfig: &tls.Config{RootCAs: pool},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", res)
			// srflx connects on loopback too: pion/ice opens a socket of
			// its own for each srflx candidate, so it is distinct from
			// the host candidate (DESIGN.md, "Learned in wave 1").
			if !res.OK {
				t.Fatalf("not connected: %s", res.Reason)
			}
			if typ, _, _ := strings.Cut(string(kind), "-"); !strings.HasPrefix(res.Local, typ+" ") {
				t.Errorf("%s path went over local candidate %q", kind, res.Local)
			}
			defer c.Close()
			ping, err := c.Ping(ctx, pathprobe.PingParams{Duration: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ping sent %d recv %d rtt %.3f ms jitter %.3f loss %.1f%%", ping.Sent, ping.Received, ping.RTTMs, ping.JitterMs, ping.LossPct)
			if ping.Received == 0 {
				t.Error("no probe came back")
			}
			if kind == pathprobe.Host || kind == pathprobe.RelayUDP {
				up, err := c.Upload(ctx, 500*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				down, err := c.Download(ctx, 500*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("up %.1f Mbps (%d samples), down %.1f Mbps (%d samples)", up.Mbps, len(up.Series), down.Mbps, len(down.Series))
				if up.Mbps <= 0 || down.Mbps <= 0 {
					t.Errorf("up %v down %v", up.Mbps, down.Mbps)
				}
			}
		})
	}
	stunSrv.Close()
	turnSrv.Close()
	web.Close()
	peer.Close()
}
