package diagnose

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"unicode"
)

// TestClientAddr: the client's address behind trusted proxies, and every
// way a client could forge one.
func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}
	for _, tc := range []struct {
		name, peer string
		headers    map[string][]string
		want       string
	}{
		{"no header, untrusted", "198.51.100.7", nil, "198.51.100.7"},
		{"spoofed XFF from an untrusted peer is ignored", "198.51.100.7",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, "198.51.100.7"},
		{"spoofed Forwarded from an untrusted peer is ignored", "198.51.100.7",
			map[string][]string{"Forwarded": {"for=203.0.113.1"}}, "198.51.100.7"},
		{"a client inside the trusted range is trusted only for its own address", "10.1.1.1", nil, "10.1.1.1"},
		{"one trusted proxy, XFF", "10.0.0.2",
			map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9"},
		{"the client's forged hop left of the proxy's is ignored", "10.0.0.2",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 203.0.113.9"}}, "203.0.113.9"},
		{"two trusted proxies: right-most untrusted", "10.0.0.2",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 203.0.113.9, 10.0.0.3"}}, "203.0.113.9"},
		{"chain split over two header lines", "10.0.0.2",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 203.0.113.9", "10.0.0.3"}}, "203.0.113.9"},
		{"an untrusted proxy in the chain stops the walk at it", "10.0.0.2",
			map[string][]string{"X-Forwarded-For": {"203.0.113.9, 198.51.100.50, 10.0.0.3"}}, "198.51.100.50"},
		{"only trusted hops: the left-most", "10.0.0.2",
			map[string][]string{"X-Forwarded-For": {"10.9.9.9, 10.0.0.3"}}, "10.9.9.9"},
		{"XFF with a port", "10.0.0.2",
			map[string][]string{"X-Forwarded-For": {"203.0.113.9:4711"}}, "203.0.113.9"},
		{"junk hop: the proxy that wrote it", "10.0.0.2",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, not-an-ip"}}, "10.0.0.2"},
		{"junk hop behind a second trusted proxy", "10.0.0.2",
			map[string][]string{"X-Forwarded-For": {"garbage, 10.0.0.3"}}, "10.0.0.3"},
		{"empty XFF", "10.0.0.2", map[string][]string{"X-Forwarded-For": {""}}, "10.0.0.2"},
		{"Forwarded, RFC 7239 example", "10.0.0.2",
			map[string][]string{"Forwarded": {`for=192.0.2.60;proto=http;by=203.0.113.43`}}, "192.0.2.60"},
		{"Forwarded, quoted IPv6 with port, case of the name", "10.0.0.2",
			map[string][]string{"Forwarded": {`For="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"Forwarded, several elements: right-most untrusted", "10.0.0.2",
			map[string][]string{"Forwarded": {`for=1.2.3.4, for=192.0.2.43;proto=https, for=10.0.0.3`}}, "192.0.2.43"},
		{"Forwarded wins over X-Forwarded-For", "10.0.0.2",
			map[string][]string{"Forwarded": {"for=192.0.2.60"}, "X-Forwarded-For": {"203.0.113.9"}}, "192.0.2.60"},
		{"Forwarded unknown: the proxy", "10.0.0.2",
			map[string][]string{"Forwarded": {"for=unknown"}}, "10.0.0.2"},
		{"Forwarded obfuscated: the proxy", "10.0.0.2",
			map[string][]string{"Forwarded": {`for=1.2.3.4, for="_hidden"`}}, "10.0.0.2"},
		{"Forwarded element without for=", "10.0.0.2",
			map[string][]string{"Forwarded": {"proto=https"}}, "10.0.0.2"},
		{"Forwarded, a comma inside quotes does not split", "10.0.0.2",
			map[string][]string{"Forwarded": {`for=192.0.2.60;ext="a,b"`}}, "192.0.2.60"},
		{"IPv6 trusted proxy, IPv4-mapped client", "2001:db8:1::5",
			map[string][]string{"X-Forwarded-For": {"::ffff:203.0.113.9"}}, "203.0.113.9"},
		{"a zone is not an address", "10.0.0.2",
			map[string][]string{"X-Forwarded-For": {"fe80::1%eth0"}}, "10.0.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tc.headers {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			got := clientAddr(netip.MustParseAddr(tc.peer), h, trusted)
			if got.String() != tc.want {
				t.Errorf("clientAddr(%s, %v) = %s, want %s", tc.peer, tc.headers, got, tc.want)
			}
		})
	}
	// No trusted proxies: the headers never count.
	h := http.Header{"X-Forwarded-For": {"203.0.113.9"}}
	if got := clientAddr(netip.MustParseAddr("10.0.0.2"), h, nil); got.String() != "10.0.0.2" {
		t.Errorf("no trusted proxies: %s, want the peer", got)
	}
}

// FuzzClientAddr feeds arbitrary Forwarded and X-Forwarded-For headers
// from a trusted proxy: nothing panics, the answer is the proxy or an
// address written in the headers, and the scheme and host taken from them
// are http(s) and a bare host.
func FuzzClientAddr(f *testing.F) {
	for _, s := range [][2]string{
		{"for=192.0.2.60;proto=http;by=203.0.113.43", ""},
		{`for="[2001:db8:cafe::17]:4711", for=unknown`, ""},
		{`for="_hidden";ext="a,\"b"`, "1.2.3.4"},
		{"", "1.2.3.4, 10.0.0.3"},
		{"", "[::1]:80, fe80::1%eth0"},
	} {
		f.Add(s[0], s[1])
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	peer := netip.MustParseAddr("10.0.0.2")
	f.Fuzz(func(t *testing.T, fwd, xff string) {
		h := http.Header{}
		if fwd != "" {
			h.Set("Forwarded", fwd)
		}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		if proto, host := forwardedOrigin(h); (proto != "" && proto != "http" && proto != "https") || strings.ContainsAny(host, " /\\\"';,<>") {
			t.Fatalf("origin %q %q from %q %q", proto, host, fwd, xff)
		}
		got := clientAddr(peer, h, trusted)
		if !got.IsValid() {
			t.Fatalf("invalid address from %q %q", fwd, xff)
		}
		if got == peer {
			return
		}
		// Separators as the parser reads them: it trims all white space
		// around an element (a value with "\n" cannot come from net/http,
		// which refuses such headers, but clientAddr is not the judge).
		for _, tok := range strings.FieldsFunc(fwd+","+xff, func(r rune) bool { return strings.ContainsRune(",;=\"\\", r) || unicode.IsSpace(r) }) {
			if ip, ok := hopAddr(tok); ok && ip == got {
				return
			}
		}
		t.Fatalf("%s is neither the proxy nor written in %q %q", got, fwd, xff)
	})
}

// TestForwardedOrigin: the scheme and host the nearest proxy recorded,
// and what is not taken from it.
func TestForwardedOrigin(t *testing.T) {
	for _, tc := range []struct {
		headers     map[string]string
		proto, host string
	}{
		{nil, "", ""},
		{map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "rtc.example.com"}, "https", "rtc.example.com"},
		{map[string]string{"X-Forwarded-Proto": "http, HTTPS", "X-Forwarded-Host": "a.example, rtc.example.com:8443"}, "https", "rtc.example.com:8443"},
		{map[string]string{"Forwarded": `for=1.2.3.4;proto=http;host=a.example, for=5.6.7.8;proto=https;host="rtc.example.com:443"`}, "https", "rtc.example.com:443"},
		{map[string]string{"Forwarded": "for=1.2.3.4", "X-Forwarded-Proto": "https"}, "", ""},
		{map[string]string{"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "evil.example/t/x"}, "", ""},
		{map[string]string{"X-Forwarded-Host": "rtc.example.com:99999"}, "", ""},
		{map[string]string{"X-Forwarded-Host": "[2001:db8::1]:8443"}, "", "[2001:db8::1]:8443"},
		{map[string]string{"X-Forwarded-Host": "a b"}, "", ""},
	} {
		h := http.Header{}
		for k, v := range tc.headers {
			h.Set(k, v)
		}
		proto, host := forwardedOrigin(h)
		if proto != tc.proto || host != tc.host {
			t.Errorf("%v: %q %q, want %q %q", tc.headers, proto, host, tc.proto, tc.host)
		}
	}
}
