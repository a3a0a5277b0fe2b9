package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v3"

	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/scenarios"
)

// coturn is coturn's turnserver (servers: {turn: coturn}) running in the
// TURN host's namespace of a kernel run, started and stopped by its PID.
type coturn struct {
	cmd     *exec.Cmd
	dir     string
	tmp     bool // dir is ours to remove
	done    chan struct{}
	stopped atomic.Bool // stop killed it; any other exit is a crash
}

// CoturnConfig is the name of coturn's configuration file in the run's
// folder (--pcap's, or a temporary one removed after the run).
const CoturnConfig = "turnserver.conf"

// coturnConf is turnserver.conf for one run: listening and relaying on
// the TURN host's address only, REST credentials from the run's shared
// secret (RFC 8489 long-term credentials, coturn's use-auth-secret).
func coturnConf(ip net.IP, port int, secret, dir string) string {
	return strings.Join([]string{
		"listening-ip=" + ip.String(),
		fmt.Sprintf("listening-port=%d", port),
		"relay-ip=" + ip.String(),
		"min-port=49152", "max-port=65535",
		"use-auth-secret", "static-auth-secret=" + secret, "realm=rtclab",
		"no-tls", "no-dtls", "no-cli", "no-multicast-peers", "fingerprint",
		"pidfile=" + filepath.Join(dir, "turnserver.pid"),
		"log-file=" + filepath.Join(dir, "turnserver.log"), "simple-log",
	}, "\n") + "\n"
}

// startCoturn writes the configuration and starts coturn inside the
// host's namespace, then waits until it answers a STUN Binding request
// (RFC 8489 section 3) from inside that namespace.
//
// onCrash is called (from another goroutine) when coturn exits by itself.
func startCoturn(ctx context.Context, nw *kernel.Network, host string, hn transport.Net, ip net.IP, port int, secret, dir string, onCrash func(error)) (*coturn, error) {
	if _, err := exec.LookPath("turnserver"); err != nil {
		return nil, fmt.Errorf("servers.turn coturn: turnserver is not installed (Debian: coturn): %w", err)
	}
	c := &coturn{dir: dir, done: make(chan struct{})}
	if dir == "" {
		d, err := os.MkdirTemp("", "rtclab-coturn-")
		if err != nil {
			return nil, err
		}
		c.dir, c.tmp = d, true
	}
	conf := filepath.Join(c.dir, CoturnConfig)
	if err := os.WriteFile(conf, []byte(coturnConf(ip, port, secret, c.dir)), 0o600); err != nil {
		c.cleanup()
		return nil, fmt.Errorf("coturn config: %w", err)
	}
	cmd, err := nw.Command(context.WithoutCancel(ctx), host, "turnserver", "-c", conf)
	if err != nil {
		c.cleanup()
		return nil, err
	}
	cmd.Dir = c.dir
	if err := cmd.Start(); err != nil {
		c.cleanup()
		return nil, fmt.Errorf("start coturn: %w", err)
	}
	c.cmd = cmd
	go func() {
		err := cmd.Wait()
		if !c.stopped.Load() && onCrash != nil {
			onCrash(err)
		}
		close(c.done)
	}()
	if err := waitBinding(ctx, hn, &net.UDPAddr{IP: ip, Port: port}, c.done); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "turnserver.log"))
		c.stop()
		return nil, fmt.Errorf("coturn did not answer: %w\n%s", err, lastLines(string(log), 10))
	}
	return c, nil
}

// waitBinding sends STUN Binding requests to addr until one is answered,
// for at most 10 s, or until died is closed.
func waitBinding(ctx context.Context, hn transport.Net, addr *net.UDPAddr, died <-chan struct{}) error {
	conn, err := hn.ListenUDP("udp4", nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	req := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 'r', 't', 'c', 'l', 'a', 'b', 'w', 'a', 'i', 't', 0, 1}
	buf := make([]byte, 1500)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-died:
			return errors.New("turnserver exited")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if _, err := conn.WriteTo(req, addr); err != nil {
			return err
		}
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, _, err := conn.ReadFrom(buf); err == nil && n >= 20 {
			return nil
		}
	}
	return errors.New("no STUN answer in 10s")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// stop kills coturn by its PID and waits for it.
func (c *coturn) stop() {
	c.stopped.Store(true)
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.cleanup()
}

func (c *coturn) cleanup() {
	if c.tmp {
		_ = os.RemoveAll(c.dir)
	}
}

// turnTarget returns the address and shared secret the participants'
// ICE servers use: the TURN host's (embedded or coturn) or the user's;
// a user's server on loopback is reached through the TURN host's
// address, at the URL's port (forwardTURN).
func (r *run) turnTarget(defaultAddr string) (addr, secret string) {
	t := r.s.Servers.TURN
	if r.s.TURNKind() == scenarios.TURNExternal {
		a := strings.TrimPrefix(t.URL, "turn:")
		a, _, _ = strings.Cut(a, "?")
		if ap, err := netip.ParseAddrPort(a); err == nil && ap.Addr().IsLoopback() {
			host, _, _ := net.SplitHostPort(defaultAddr)
			return net.JoinHostPort(host, strconv.Itoa(int(ap.Port()))), t.Secret
		}
		return a, t.Secret
	}
	return defaultAddr, turnSecret
}

// forwardTURN starts, for a user's TURN server on this machine's
// loopback (servers.turn {url: turn:127.0.0.1:PORT}), a forwarder from
// the TURN host's address at the same port (UDP and TCP) to it; nil when
// the scenario names no such server.
func (r *run) forwardTURN() (*kernel.Forwarder, error) {
	if r.s.TURNKind() != scenarios.TURNExternal || r.kernel == nil {
		return nil, nil
	}
	a := strings.TrimPrefix(r.s.Servers.TURN.URL, "turn:")
	a, _, _ = strings.Cut(a, "?")
	ap, _ := netip.ParseAddrPort(a) // validated by scenarios
	if !ap.IsValid() || !ap.Addr().IsLoopback() {
		return nil, nil // on the run's own networks: reached directly
	}
	f, err := r.kernel.ForwardLoopback(scenarios.TURNHost, int(ap.Port()), ap)
	if err != nil {
		return nil, fmt.Errorf("servers.turn %s: %w", r.s.Servers.TURN.URL, err)
	}
	return f, nil
}
