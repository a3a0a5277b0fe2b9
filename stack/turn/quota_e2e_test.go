package turn

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"
	pionturn "github.com/pion/turn/v4"
)

// TestQuotaRefusesAllocate holds allocations from one address with pion's
// client until the quota and checks the next is refused 486 (RFC 8656
// section 7.2), and that releasing one makes room.
func TestQuotaRefusesAllocate(t *testing.T) {
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{
		Net: n, RelayIP: net.IPv4(127, 0, 0, 1), UDPAddr: "127.0.0.1:0", Secret: "s",
		AllowPeer: func(net.IP) bool { return true }, Quota: Quota{PerIP: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	user, pass, err := Credentials("s", "q", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr("udp").String()
	allocate := func() (*pionturn.Client, net.PacketConn, error) {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c, err := pionturn.NewClient(&pionturn.ClientConfig{
			STUNServerAddr: addr, TURNServerAddr: addr, Username: user, Password: pass,
			Conn: conn, Net: n, LoggerFactory: quietLoggerFactory(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); _ = conn.Close() })
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		relay, err := c.Allocate()
		return c, relay, err
	}
	_, first, err := allocate()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := allocate(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := allocate(); err == nil || !strings.Contains(err.Error(), "486") {
		t.Fatalf("third allocation from one address: %v, want 486 Allocation Quota Reached", err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	if got := srv.Held(lo); got != 2 {
		t.Errorf("Held = %d, want 2", got)
	}
	_ = first.Close() // a zero-lifetime Refresh
	deadline := time.Now().Add(5 * time.Second)
	for srv.Held(lo) != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, _, err := allocate(); err != nil {
		t.Errorf("after releasing one: %v", err)
	}
}
