package loopns

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/stack/browser"
)

// NS is a loopback-only namespace a test made.
type NS struct {
	*kernel.Loopback
}

// New creates the namespace, deleted (with whatever still runs in it) in
// t's cleanup, after everything started in it later has stopped. Without
// root or `ip` the test is skipped, or fails under RTCLAB_REQUIRE_PEERS.
func New(t testing.TB) *NS {
	t.Helper()
	if err := kernel.Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
	l, err := kernel.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs last.
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("delete namespace %s: %v", l.Name, err)
		}
	})
	return &NS{Loopback: l}
}

// Serve starts an HTTP server for h on 127.0.0.1 inside the namespace,
// closed in t's cleanup; its Client dials from inside the namespace.
func (n *NS) Serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := n.Net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	srv.Client().Transport.(*http.Transport).DialContext = n.DialContext
	t.Cleanup(srv.Close)
	return srv
}

// Client is an HTTP client that dials from inside the namespace.
func (n *NS) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: n.DialContext}}
}

// Chromium starts a headless Chromium in the namespace, driven over its
// CDP pipe (Chromium.Allocator), with host candidates on loopback
// (browser.LoopbackFlag: a browser gathers none there otherwise) and with
// their addresses rather than mDNS names, so a test can check them.
func (n *NS) Chromium(t testing.TB, extra ...string) realpeer.Chromium {
	t.Helper()
	extra = append([]string{browser.LoopbackFlag, "--disable-features=WebRtcHideLocalIpsWithMdns"}, extra...)
	return realpeer.StartChromium(t, []string{"ip", "netns", "exec", n.Name}, "", extra...)
}

// CheckLoopback fails t unless addrs has at least one address and every
// one is a loopback address; what names them in the message ("gathered
// candidates", "getStats local-candidate").
func CheckLoopback(t testing.TB, what string, addrs []string) {
	t.Helper()
	if len(addrs) == 0 {
		t.Errorf("%s: none reported", what)
	}
	for _, a := range addrs {
		// RTCIceCandidate.address has an IPv6 address in brackets.
		if ip := net.ParseIP(strings.Trim(a, "[]")); ip == nil || !ip.IsLoopback() {
			t.Errorf("%s: %q is not a loopback address (all: %v)", what, a, addrs)
		}
	}
}
