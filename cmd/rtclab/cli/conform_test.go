package cli

import (
	"encoding/json"
	"encoding/xml"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pion/transport/v3/stdnet"

	"github.com/rtclab/rtclab/conform"
	"github.com/rtclab/rtclab/stack/turn"
)

func conformServer(t *testing.T, policy func(net.IP) bool) string {
	t.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := turn.New(turn.Config{Net: n, RelayIP: net.ParseIP("127.0.0.1").To4(), UDPAddr: "127.0.0.1:0", Secret: "s", AllowPeer: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return "turn:" + srv.Addr("udp").String()
}

// conform prints one line per check with its RFC section and a summary,
// writes JUnit, JSON and HTML, and exits 0 when every MUST holds, 1 when
// one fails (a server that relays to loopback), 2 for unusable input.
func TestConformCommand(t *testing.T) {
	allowed := []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix("127.0.0.3/32")}
	good := conformServer(t, turn.AllowingPeers(turn.PeerAllowed, allowed))
	dir := t.TempDir()
	env, out, errb := testEnv(t)
	args := []string{"conform", good, "--secret", "s", "--peer-ip", "127.0.0.2", "--peer-ip", "127.0.0.3",
		"--label-filter", "turn && must && !rfc6062 && !rfc7635", "--timeout", "300ms",
		"--junit", filepath.Join(dir, "c.xml"), "--json", filepath.Join(dir, "c.json"), "--html", filepath.Join(dir, "c.html")}
	if code := Main(args, env); code != ExitPass {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	text := out.String()
	for _, want := range []string{"turn-permission-ip-only", "RFC 8656 §9", "security-peer-loopback", "PASS: every MUST holds"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "stun-binding") {
		t.Errorf("the label filter let a stun-only check through:\n%s", text)
	}
	var rep conform.Report
	b, err := os.ReadFile(filepath.Join(dir, "c.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil || rep.Schema != "rtclab.conform/v1" || rep.Summary.Pass == 0 {
		t.Errorf("json: %v %+v", err, rep.Summary)
	}
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	b, err = os.ReadFile(filepath.Join(dir, "c.xml"))
	if err != nil || xml.Unmarshal(b, &suite) != nil || suite.Tests != len(rep.Results) || suite.Failures != 0 {
		t.Errorf("junit: %v %+v (results %d)", err, suite, len(rep.Results))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "c.html")); err != nil || !strings.Contains(string(b), "PASS, every MUST holds") {
		t.Errorf("html: %v", err)
	}

	// A server that relays anywhere fails the security MUSTs: exit 1.
	open := conformServer(t, func(net.IP) bool { return true })
	out.Reset()
	if code := Main([]string{"conform", open, "--secret", "s", "--label-filter", "security && must", "--timeout", "300ms"}, env); code != ExitFail {
		t.Errorf("open relay: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out.String(), "FAIL security-peer-loopback") {
		t.Errorf("open relay: no failed loopback check:\n%s", out)
	}

	for _, bad := range [][]string{
		{"conform"},
		{"conform", "http://example.com", "--secret", "s"},
		{"conform", good},
		{"conform", good, "--secret", "s", "--user", "u", "--password", "p"},
		{"conform", good, "--user", "u"},
		{"conform", good, "--secret", "s", "--label-filter", "security &&"},
		{"conform", good, "--secret", "s", "--label-filter", "nosuchlabel"},
		{"conform", good, "--secret", "s", "--peer-ip", "not-an-ip"},
	} {
		errb.Reset()
		if code := Main(bad, env); code != ExitUsage {
			t.Errorf("%q: exit %d, want 2 (%s)", bad, code, errb)
		}
	}
}
