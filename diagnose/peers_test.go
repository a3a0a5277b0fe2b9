package diagnose_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/stack/stunserver"
	rtcturn "github.com/rtclab/rtclab/stack/turn"

	"github.com/rtclab/rtclab/internal/leakcheck"

	"github.com/rtclab/rtclab/internal/realpeer"
)

// freePortPair finds a port p such that p and p+1 are free for UDP and TCP
// on every ip.
func freePortPair(t *testing.T, ips ...string) int {
	t.Helper()
	for range 200 {
		p := 20000 + rand.IntN(20000)
		ok := true
		var closers []func() error
		for _, ip := range ips {
			for _, port := range []int{p, p + 1} {
				addr := net.JoinHostPort(ip, strconv.Itoa(port))
				u, err := net.ListenPacket("udp4", addr)
				if err != nil {
					ok = false
					continue
				}
				closers = append(closers, u.Close)
				l, err := net.Listen("tcp4", addr)
				if err != nil {
					ok = false
					continue
				}
				closers = append(closers, l.Close)
			}
		}
		for _, c := range closers {
			_ = c()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free port pair")
	return 0
}

// startCoturn runs coturn on 127.0.0.1 and 127.0.0.2 (RFC 5780 needs two
// addresses) from a temp dir, stopped by PID at cleanup.
func startCoturn(t *testing.T, secret string) int {
	t.Helper()
	return startCoturnRelays(t, secret, 200)
}

// startCoturnRelays is startCoturn with relays relay ports.
func startCoturnRelays(t *testing.T, secret string, relays int) int {
	t.Helper()
	realpeer.Binary(t, "turnserver")
	dir := t.TempDir()
	port := freePortPair(t, "127.0.0.1", "127.0.0.2")
	minPort := 40000 + rand.IntN(25000-relays)
	cmd := exec.Command("turnserver", "-n",
		"--listening-ip", "127.0.0.1", "--listening-ip", "127.0.0.2",
		"--listening-port", strconv.Itoa(port), "--alt-listening-port", strconv.Itoa(port+1),
		"--relay-ip", "127.0.0.1", "--min-port", strconv.Itoa(minPort), "--max-port", strconv.Itoa(minPort+relays),
		"--use-auth-secret", "--static-auth-secret", secret, "--realm", "rtclab",
		"--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli",
		"--pidfile", filepath.Join(dir, "turnserver.pid"), "--log-file", filepath.Join(dir, "turnserver.log"), "--simple-log")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Wait until it answers STUN.
	n, _ := stdnet.NewNet()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := nat.Discover(context.Background(), nat.Params{Net: n, Server: fmt.Sprintf("127.0.0.1:%d", port), Timeout: 200 * time.Millisecond})
		if err == nil && res.Reachable {
			return port
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "turnserver.log"))
			t.Fatalf("coturn did not answer on %d:\n%s", port, log)
		}
	}
}

var natdiscoveryRe = regexp.MustCompile(`NAT with (.*?) (Mapping|Filtering)!`)

// natdiscovery runs coturn's turnutils_natdiscovery and returns its
// mapping and filtering verdicts in RFC 5780 words.
func natdiscovery(t *testing.T, wrap []string, server string, port int) (mapping, filtering nat.Behavior, out string) {
	t.Helper()
	realpeer.Binary(t, "turnutils_natdiscovery")
	args := append(append([]string{}, wrap...), "turnutils_natdiscovery", "-m", "-f", "-p", strconv.Itoa(port), server)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	out = string(b)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	words := map[string]nat.Behavior{
		"Endpoint Independent":       nat.EndpointIndependent,
		"Address Dependent":          nat.AddressDependent,
		"Address and Port Dependent": nat.AddressAndPortDependent,
	}
	mapping, filtering = nat.Inconclusive, nat.Inconclusive
	for _, m := range natdiscoveryRe.FindAllStringSubmatch(out, -1) {
		b, ok := words[strings.TrimSpace(m[1])]
		if !ok {
			t.Fatalf("natdiscovery said %q", m[0])
		}
		if m[2] == "Mapping" {
			mapping = b
		} else {
			filtering = b
		}
	}
	return mapping, filtering, out
}

// TestCoturnNATDiscoveryAgrees compares rtclab's RFC 5780 classification
// with coturn's turnutils_natdiscovery, against coturn and against
// rtclab's own responder, on loopback (no NAT: both must say
// endpoint-independent mapping and filtering).
func TestCoturnNATDiscoveryAgrees(t *testing.T) {
	leakcheck.Check(t)
	port := startCoturn(t, "s3cret")
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	ours, err := stunserver.New(stunserver.Config{Net: n, Primary: "127.0.0.1:0", Alternate: "127.0.0.2:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	for _, tc := range []struct {
		name string
		port int
	}{{"coturn", port}, {"rtclab stunserver", ours.Primary().Port}} {
		t.Run(tc.name, func(t *testing.T) {
			m, f, out := natdiscovery(t, nil, "127.0.0.1", tc.port)
			res, err := nat.Discover(context.Background(), nat.Params{Net: n, Server: fmt.Sprintf("127.0.0.1:%d", tc.port)})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("natdiscovery: mapping %s, filtering %s; rtclab: mapping %s, filtering %s (%s)", m, f, res.Mapping, res.Filtering, res.Type)
			if m != res.Mapping || f != res.Filtering {
				t.Errorf("disagree with natdiscovery:\n%s", out)
			}
			if m != nat.EndpointIndependent || f != nat.EndpointIndependent {
				t.Errorf("on loopback, want endpoint-independent both ways:\n%s", out)
			}
		})
	}
}

// TestDiagnoseAgainstCoturn uses coturn as the STUN and TURN server (UDP
// and TCP, REST credentials) and rtclab's test peer for the paths.
func TestDiagnoseAgainstCoturn(t *testing.T) {
	leakcheck.Check(t)
	const secret = "coturn-secret"
	port := startCoturn(t, secret)
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := diagnose.StartServer(diagnose.ServerConfig{
		Net: n, IP: "127.0.0.1", Secret: "other", TURNPort: -1, TLSPort: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	user, pass, err := rtcturn.Credentials(secret, "diagnose", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := diagnose.NewPlan(diagnose.Inputs{
		Target: "coturn",
		STUN:   fmt.Sprintf("stun:127.0.0.1:%d", port),
		TURN: []string{
			fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", port),
			fmt.Sprintf("turn:127.0.0.1:%d?transport=tcp", port),
		},
		Username: user, Password: pass, Peer: srv.Info().HTTP,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := diagnose.Run(context.Background(), plan, diagnose.Options{
		IncludeLoopback: true, LocalIPs: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verdict %s in %.1f s", res.Verdict.Level, res.DurationMs/1000)
	if res.NAT == nil || res.NAT.OtherAddress == "" || res.NAT.Type != nat.OpenInternet {
		t.Errorf("NAT %+v", res.NAT)
	}
	for _, tr := range res.TURN {
		t.Logf("TURN %s: ok %v in %.1f ms %s", tr.URL, tr.OK, tr.Ms, tr.Error)
		if !tr.OK {
			t.Errorf("coturn allocation over %s failed: %s", tr.Transport, tr.Error)
		}
	}
	for _, p := range res.Paths {
		t.Logf("path %s: ok %v %s %s", p.Kind, p.OK, p.Local, p.Reason)
		if (p.Kind == pathprobe.RelayUDP || p.Kind == pathprobe.RelayTCP) && !p.OK {
			t.Errorf("relay path %s through coturn failed: %s", p.Kind, p.Reason)
		}
	}
}
