package diagnose_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"

	"github.com/rtclab/rtclab/internal/realpeer"
)

// The kernel test's topology, all inside namespaces the test creates, with
// addresses from the 198.18.0.0/15 benchmarking range (RFC 2544):
//
//	client ns  eth0 198.19.0.2 ── lan 198.19.0.1  router ns  wan 198.18.0.254 ── eth0 198.18.0.1, .2  server ns
//
// The router forwards and NATs with the nftables rules of each case.
const (
	nsServerIP  = "198.18.0.1"
	nsServerIP2 = "198.18.0.2"
	nsClientIP  = "198.19.0.2"
)

// helperEnv selects a helper mode of the test binary (see TestMain), run
// inside a namespace with `ip netns exec`.
const helperEnv = "RTCLAB_NS_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		os.Exit(helperServe())
	case "serve-page":
		os.Exit(helperServePage())
	case "diagnose":
		os.Exit(helperDiagnose())
	case "nat":
		os.Exit(helperNAT())
	default:
		fmt.Fprintln(os.Stderr, "unknown helper")
		os.Exit(2)
	}
}

// helperServe runs `rtclab serve` on the server namespace's two addresses
// until its stdin closes.
func helperServe() int { return helperServeWith(nil) }

// helperServeWith is helperServe with routes added to serve's mux.
func helperServeWith(routes func(*http.ServeMux)) int {
	n, err := stdnet.NewNet()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv, err := diagnose.StartServer(diagnose.ServerConfig{
		Net: n, IP: nsServerIP, AltIP: nsServerIP2, Secret: "ns-secret",
		TURNPort: 3478, TLSPort: 5349, STUNPort: 3479, STUNAltPort: 3480, HTTPPort: 8080,
		// The lab's addresses are in the benchmarking range, which the
		// default relay policy refuses: TURN relays to the test peer here.
		AllowedPeers: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")},
		Mount:        routes,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperDiagnose runs the diagnosis against the server namespace and
// prints the JSON result.
func helperDiagnose() int {
	ctx := context.Background()
	base := "http://" + net.JoinHostPort(nsServerIP, "8080")
	info, err := diagnose.FetchServer(ctx, nil, base)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	plan, err := diagnose.NewPlan(diagnose.Inputs{
		Target: base, STUN: info.STUN, TURN: info.TURN, Username: info.Username, Password: info.Password, Peer: base,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tlsCfg := diagnoseTLS(info)
	res, err := diagnose.Run(ctx, plan, diagnose.Options{TLSConfig: tlsCfg, LocalIPs: []net.IP{net.ParseIP(nsClientIP)}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := diagnose.WriteText(os.Stderr, res); err != nil {
		fmt.Fprintln(os.Stderr, "text:", err)
		return 1
	}
	if err := diagnose.WriteJSON(os.Stdout, res); err != nil {
		fmt.Fprintln(os.Stderr, "JSON:", err)
		return 1
	}
	return 0
}

// helperNAT runs only the RFC 5780 tests and prints the JSON result.
func helperNAT() int {
	n, err := stdnet.NewNet()
	if err != nil {
		return 1
	}
	res, err := nat.Discover(context.Background(), nat.Params{Net: n, Server: net.JoinHostPort(nsServerIP, "3479")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// lab is the three namespaces of one test.
type lab struct {
	t                      *testing.T
	server, router, client string
}

func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		realpeer.Unavailable(t, "network namespaces need root")
	}
	realpeer.Binary(t, "ip")
	realpeer.Binary(t, "nft")
}

// newLab creates the namespaces and links; Cleanup deletes them.
func newLab(t *testing.T) *lab {
	t.Helper()
	requireNetns(t)
	id := fmt.Sprintf("%d%d", os.Getpid()%100000, time.Now().UnixNano()%1000)
	l := &lab{t: t, server: "rtclab-s" + id, router: "rtclab-r" + id, client: "rtclab-c" + id}
	for _, ns := range []string{l.server, l.router, l.client} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			realpeer.Unavailable(t, fmt.Sprintf("ip netns add %s: %v %s", ns, err, out))
		}
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	}
	// Links are created inside the router namespace, never in the host's.
	l.run("ip", "-n", l.router, "link", "add", "wan", "type", "veth", "peer", "name", "eth0", "netns", l.server)
	l.run("ip", "-n", l.router, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", l.client)
	l.run("ip", "-n", l.server, "addr", "add", nsServerIP+"/24", "dev", "eth0")
	l.run("ip", "-n", l.server, "addr", "add", nsServerIP2+"/24", "dev", "eth0")
	l.run("ip", "-n", l.router, "addr", "add", "198.18.0.254/24", "dev", "wan")
	l.run("ip", "-n", l.router, "addr", "add", "198.19.0.1/24", "dev", "lan")
	l.run("ip", "-n", l.client, "addr", "add", nsClientIP+"/24", "dev", "eth0")
	for _, ns := range []string{l.server, l.router, l.client} {
		l.run("ip", "-n", ns, "link", "set", "lo", "up")
	}
	l.run("ip", "-n", l.server, "link", "set", "eth0", "up")
	l.run("ip", "-n", l.client, "link", "set", "eth0", "up")
	l.run("ip", "-n", l.router, "link", "set", "wan", "up")
	l.run("ip", "-n", l.router, "link", "set", "lan", "up")
	l.run("ip", "-n", l.client, "route", "add", "default", "via", "198.19.0.1")
	l.run("ip", "netns", "exec", l.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	return l
}

func (l *lab) run(args ...string) string {
	l.t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// nft replaces the router's ruleset.
func (l *lab) nft(ruleset string) {
	l.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", l.router, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader("flush ruleset\n" + ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("nft: %v\n%s\n%s", err, out, ruleset)
	}
	// Forget NAT mappings of earlier cases.
	_ = exec.Command("ip", "netns", "exec", l.router, "conntrack", "-F").Run()
}

// helper starts this test binary in a helper mode inside ns.
func (l *lab) helper(ns, mode string) *exec.Cmd {
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

// startServer runs serve in the server namespace until cleanup.
func (l *lab) startServer() { l.t.Helper(); l.startServerMode("serve") }

// startServerMode runs the serve helper mode in the server namespace
// until cleanup, with extra environment.
func (l *lab) startServerMode(mode string, env ...string) {
	l.t.Helper()
	cmd := l.helper(l.server, mode)
	cmd.Env = append(cmd.Env, env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() {
		_ = stdin.Close() // the helper closes its server and exits
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan bool, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		ok := s.Scan() && s.Text() == "READY"
		ready <- ok
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case ok := <-ready:
		if !ok {
			l.t.Fatalf("serve helper failed: %s", stderr.String())
		}
	case <-time.After(10 * time.Second):
		l.t.Fatal("serve helper did not start")
	}
}

// diagnose runs the diagnosis in the client namespace.
func (l *lab) diagnose() (diagnose.Result, time.Duration) {
	l.t.Helper()
	cmd := l.helper(l.client, "diagnose")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	l.t.Logf("diagnose in the client namespace took %s:\n%s", elapsed.Round(time.Millisecond), stderr.String())
	if err != nil {
		l.t.Fatalf("diagnose helper: %v", err)
	}
	var res diagnose.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		l.t.Fatalf("diagnose JSON: %v\n%s", err, stdout.String())
	}
	return res, elapsed
}

func (l *lab) discoverNAT() nat.Result {
	l.t.Helper()
	out, err := l.helper(l.client, "nat").Output()
	if err != nil {
		l.t.Fatalf("nat helper: %v", err)
	}
	var res nat.Result
	if err := json.Unmarshal(out, &res); err != nil {
		l.t.Fatal(err)
	}
	return res
}

const (
	masquerade = `table ip rtclab {
	chain post { type nat hook postrouting priority srcnat; policy accept; oifname "wan" masquerade; }
}
`
	masqueradeRandom = `table ip rtclab {
	chain post { type nat hook postrouting priority srcnat; policy accept; oifname "wan" masquerade fully-random; }
}
`
	udpBlocked = `table ip rtclab {
	chain post { type nat hook postrouting priority srcnat; policy accept; oifname "wan" masquerade; }
	chain filter_udp { type filter hook forward priority filter; policy accept; meta l4proto udp drop; }
}
`
)

// TestNetnsNATDiscoveryAgrees compares rtclab's classification with
// coturn's turnutils_natdiscovery behind real kernel NATs: nftables
// MASQUERADE (endpoint-independent mapping, address-and-port-dependent
// filtering) and MASQUERADE fully-random (symmetric).
func TestNetnsNATDiscoveryAgrees(t *testing.T) {
	l := newLab(t)
	realpeer.Binary(t, "turnutils_natdiscovery")
	l.startServer()
	for _, tc := range []struct {
		name    string
		ruleset string
		mapping nat.Behavior
		typ     nat.Type
	}{
		{"masquerade", masquerade, nat.EndpointIndependent, nat.PortRestrictedCone},
		{"masquerade fully-random", masqueradeRandom, nat.AddressAndPortDependent, nat.Symmetric},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l.t = t
			l.nft(tc.ruleset)
			m, f, out := natdiscovery(t, []string{"ip", "netns", "exec", l.client}, nsServerIP, 3479)
			ours := l.discoverNAT()
			t.Logf("natdiscovery: mapping %s, filtering %s; rtclab: mapping %s, filtering %s -> %s (mapped %s)",
				m, f, ours.Mapping, ours.Filtering, ours.Type, ours.Mapped)
			if m != ours.Mapping || f != ours.Filtering {
				t.Errorf("rtclab disagrees with natdiscovery:\n%s", out)
			}
			if ours.Mapping != tc.mapping || ours.Type != tc.typ || !ours.Natted {
				t.Errorf("got %s / %s, want mapping %s, type %s", ours.Mapping, ours.Type, tc.mapping, tc.typ)
			}
		})
	}
}

// TestNetnsDiagnose runs the whole diagnosis from behind a symmetric NAT
// and from behind a firewall that drops UDP.
func TestNetnsDiagnose(t *testing.T) {
	l := newLab(t)
	l.startServer()
	t.Run("symmetric NAT", func(t *testing.T) {
		l.t = t
		l.nft(masqueradeRandom)
		res, elapsed := l.diagnose()
		t.Logf("wall time %s", elapsed.Round(time.Millisecond))
		if res.NAT == nil || res.NAT.Type != nat.Symmetric {
			t.Fatalf("NAT %+v, want symmetric", res.NAT)
		}
		if !hasFinding(res, "symmetric NAT") {
			t.Errorf("no finding names the symmetric NAT: %+v", res.Findings)
		}
		for _, tr := range res.TURN {
			if !tr.OK {
				t.Errorf("TURN over %s failed behind a NAT that allows it: %s", tr.Transport, tr.Error)
			}
		}
		if res.BestPath == "" || res.Bandwidth == nil {
			t.Errorf("best path %q, bandwidth %v", res.BestPath, res.Bandwidth)
		}
	})
	t.Run("UDP blocked", func(t *testing.T) {
		l.t = t
		l.nft(udpBlocked)
		res, elapsed := l.diagnose()
		t.Logf("wall time %s", elapsed.Round(time.Millisecond))
		if res.NAT == nil || res.NAT.Reachable {
			t.Errorf("STUN over UDP answered through a UDP drop: %+v", res.NAT)
		}
		for _, tr := range res.TURN {
			wantOK := tr.Transport != turnprobe.UDP
			if tr.OK != wantOK {
				t.Errorf("TURN over %s: ok %v (%s), want %v", tr.Transport, tr.OK, tr.Failure, wantOK)
			}
			if tr.Transport == turnprobe.UDP && tr.Failure != turnprobe.FailTimeout {
				t.Errorf("TURN over UDP failed with %q, want timeout", tr.Failure)
			}
		}
		if !res.BestPath.IsRelay() || res.BestPath == pathprobe.RelayUDP {
			t.Errorf("best path %q, want a TCP or TLS relay", res.BestPath)
		}
		if !hasFinding(res, "UDP to the TURN server is blocked; calls will relay over TCP on 3478 or TLS on 5349") {
			t.Errorf("no 'UDP blocked -> TLS relay' finding: %+v", res.Findings)
		}
		var tlsPath bool
		for _, p := range res.Paths {
			tlsPath = tlsPath || (p.Kind == pathprobe.RelayTLS && p.OK)
		}
		if !tlsPath {
			t.Errorf("the TLS relay path did not connect: %+v", res.Paths)
		}
	})
}

func hasFinding(res diagnose.Result, text string) bool {
	for _, f := range res.Findings {
		if strings.Contains(f.Text, text) {
			return true
		}
	}
	return false
}

// diagnoseTLS trusts the server's published self-signed certificate.
func diagnoseTLS(info diagnose.ServerInfo) *tls.Config {
	return &tls.Config{RootCAs: info.CertPool()}
}
