package conform

import (
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/internal/realpeer"
)

// The servers under test run on loopback: the primary address 127.0.0.1,
// the RFC 5780 alternate 127.0.0.2, and the suite's peers on 127.0.0.2 and
// 127.0.0.3, which each server's operator allows (the rest of 127/8 stays
// forbidden, so the loopback bypass checks keep their meaning).
var (
	testPeers   = []net.IP{net.ParseIP("127.0.0.2"), net.ParseIP("127.0.0.3")}
	testAllowed = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix("127.0.0.3/32")}
)

const testSecret = "conform-secret"

// coturnQuota is the user quota the coturn under test is given, so that
// turn-quota has something to check.
const coturnQuota = 5

// server is one server under test and its URLs.
type server struct {
	name    string
	targets []Target
}

func targetsFor(t testing.TB, quota int, urls ...string) []Target {
	t.Helper()
	var out []Target
	for _, u := range urls {
		tg, err := ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		if tg.TURN {
			tg.Secret = testSecret
		}
		tg.PeerIPs, tg.Allowed, tg.Quota = testPeers, testAllowed, quota
		tg.Timeout = 500 * time.Millisecond
		out = append(out, tg)
	}
	return out
}

// freePort returns a port whose UDP and TCP sockets, and those of the
// next port, are free on 127.0.0.1 and 127.0.0.2.
func freePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		p := 20000 + rand.IntN(20000)
		ok := true
		for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
			for _, port := range []int{p, p + 1} {
				addr := net.JoinHostPort(ip, strconv.Itoa(port))
				u, err := net.ListenPacket("udp", addr)
				if err != nil {
					ok = false
					continue
				}
				_ = u.Close()
				l, err := net.Listen("tcp", addr)
				if err != nil {
					ok = false
					continue
				}
				_ = l.Close()
			}
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free port pair on 127.0.0.1/127.0.0.2")
	return 0
}

// startCoturn runs Debian's coturn on loopback with the secure settings
// its documentation recommends (REST secret, no loopback or multicast
// peers, the special-purpose ranges denied), the suite's two peers
// allowed, and a user quota; it is stopped by PID when t ends.
func startCoturn(t testing.TB) server {
	t.Helper()
	realpeer.Binary(t, "turnserver")
	dir := t.TempDir()
	port := freePort(t)
	minPort := 40000 + rand.IntN(20000)
	args := []string{"-n",
		"--listening-ip", "127.0.0.1", "--listening-ip", "127.0.0.2",
		"--listening-port", strconv.Itoa(port), "--alt-listening-port", strconv.Itoa(port + 1),
		"--relay-ip", "127.0.0.1", "--min-port", strconv.Itoa(minPort), "--max-port", strconv.Itoa(minPort + 400),
		"--use-auth-secret", "--static-auth-secret", testSecret, "--realm", "rtclab",
		"--user-quota", strconv.Itoa(coturnQuota),
		"--no-tls", "--no-dtls", "--no-cli", "--no-multicast-peers",
		// Loopback peers are refused unless allowed at all; then deny the
		// whole of 127/8 but the suite's two peers.
		"--allow-loopback-peers", "--denied-peer-ip=127.0.0.0-127.255.255.255",
		"--allowed-peer-ip=127.0.0.2-127.0.0.3",
		"--pidfile", filepath.Join(dir, "turnserver.pid"), "--log-file", filepath.Join(dir, "turnserver.log"), "--simple-log",
	}
	for _, r := range coturnDenied {
		args = append(args, "--denied-peer-ip="+r)
	}
	cmd := exec.Command("turnserver", args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := fmt.Sprintf("127.0.0.1:%d", port)
	waitSTUN(t, base, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "turnserver.log"))
		return string(log)
	})
	return server{name: "coturn", targets: targetsFor(t, coturnQuota, "turn:"+base, "turn:"+base+"?transport=tcp")}
}

// coturnDenied are the special-purpose ranges (RFC 6890) denied in the
// coturn under test, as its turnserver.conf suggests for a public server.
var coturnDenied = []string{
	"0.0.0.0-0.255.255.255", "10.0.0.0-10.255.255.255", "100.64.0.0-100.127.255.255",
	"169.254.0.0-169.254.255.255", "172.16.0.0-172.31.255.255", "192.0.0.0-192.0.0.255",
	"192.168.0.0-192.168.255.255", "198.18.0.0-198.19.255.255", "240.0.0.0-255.255.255.255",
	"::1", "64:ff9b::-64:ff9b::ffff:ffff", "::ffff:0.0.0.0-::ffff:255.255.255.255",
	"fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
}

// waitSTUN waits until addr answers a Binding request.
func waitSTUN(t testing.TB, addr string, log func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("udp", addr)
		if err == nil {
			req := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
			_, _ = c.Write(req)
			_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			buf := make([]byte, 1500)
			n, err := c.Read(buf)
			_ = c.Close()
			if err == nil && n >= 20 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer STUN:\n%s", addr, log())
		}
	}
}

// startRTCLab runs rtclab's own `serve` (TURN over UDP, TCP and TLS, the
// RFC 5780 responder) on loopback with the suite's peers allowed.
func startRTCLab(t testing.TB) server {
	t.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := diagnose.StartServer(diagnose.ServerConfig{
		Net: n, IP: "127.0.0.1", AltIP: "127.0.0.2", Secret: testSecret,
		AllowedPeers: testAllowed,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	info := srv.Info()
	urls := append([]string{info.STUN}, info.TURN...)
	ts := targetsFor(t, 0, urls...)
	for i := range ts {
		ts[i].TLSConfig = &tls.Config{RootCAs: info.CertPool(), MinVersion: tls.VersionTLS12}
	}
	return server{name: "rtclab", targets: ts}
}
