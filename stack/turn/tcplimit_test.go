package turn

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"
)

func startTCP(t *testing.T, q Quota) string {
	t.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Net: n, RelayIP: net.IPv4(127, 0, 0, 1), TCPAddr: "127.0.0.1:0", Secret: "s", Quota: q})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv.Addr("tcp").String()
}

// closedByServer reports whether the server closed c (EOF or reset)
// within wait, rather than c just staying quiet.
func closedByServer(t *testing.T, c net.Conn, wait time.Duration) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	return err != nil
}

func TestTCPConnectionsPerIP(t *testing.T) {
	addr := startTCP(t, Quota{TCPPerIP: 2})
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	if !closedByServer(t, conns[2], 5*time.Second) {
		t.Error("the third connection from one address was kept (quota 2)")
	}
	for i, c := range conns[:2] {
		if closedByServer(t, c, 200*time.Millisecond) {
			t.Errorf("connection %d within the quota was closed", i)
		}
	}
	// Closing one makes room.
	_ = conns[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		kept := !closedByServer(t, c, 200*time.Millisecond)
		_ = c.Close()
		if kept {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no room after a connection closed")
		}
	}
}

func TestTCPIdleClosed(t *testing.T) {
	addr := startTCP(t, Quota{TCPIdle: 200 * time.Millisecond})
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !closedByServer(t, c, 5*time.Second) {
		t.Error("a silent TCP connection was held past TCPIdle")
	}
}
