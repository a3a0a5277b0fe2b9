package diagnose

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestExposure(t *testing.T) {
	l := LocalReport{
		Addresses: []LocalAddress{{IP: "192.168.1.20", Scope: "private", Private: true}, {IP: "2001:db8::5", Scope: "public"}},
		Mapped:    "203.0.113.7:40000",
	}
	tests := []struct {
		name   string
		l      LocalReport
		relays []string
		want   map[string][]string
	}{
		{"every kind", l, []string{"198.51.100.10:50000", "198.51.100.10:50002"}, map[string][]string{
			ClientHostCandidates: {"192.168.1.20 (private)", "2001:db8::5 (public)", "203.0.113.7 (public, seen by the STUN server)"},
			ClientMDNS:           {"name1.local (for 192.168.1.20)", "name2.local (for 2001:db8::5)", "203.0.113.7 (public, seen by the STUN server)"},
			ClientRelayOnly:      {"198.51.100.10 (the TURN relay's)"},
		}},
		{"no TURN; STUN on loopback", LocalReport{Addresses: l.Addresses[:1], Mapped: "127.0.0.1:5"}, nil, map[string][]string{
			ClientHostCandidates: {"192.168.1.20 (private)", "127.0.0.1 (loopback, seen by the STUN server)"},
			ClientMDNS:           {"name1.local (for 192.168.1.20)", "127.0.0.1 (loopback, seen by the STUN server)"},
			ClientRelayOnly:      {"the TURN relay's address only (no allocation measured)"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exposure(tt.l, tt.relays)
			if len(got) != 3 {
				t.Fatalf("%d rows", len(got))
			}
			for _, e := range got {
				if !slices.Equal(e.Addresses, tt.want[e.Client]) {
					t.Errorf("%s: %q, want %q", e.Client, e.Addresses, tt.want[e.Client])
				}
				// mDNS hides every local address: none of them appears bare.
				if e.Client == ClientMDNS {
					for _, a := range tt.l.Addresses {
						if slices.ContainsFunc(e.Addresses, func(s string) bool { return strings.HasPrefix(s, a.IP) }) {
							t.Errorf("mdns row shows %s", a.IP)
						}
					}
				}
			}
		})
	}
}

// The text, the HTML and the JSON carry the same rows.
func TestExposureRendered(t *testing.T) {
	var res Result
	res.Local = LocalReport{Addresses: []LocalAddress{{IP: "10.0.0.5", Scope: "private", Private: true}}, Mapped: "203.0.113.7:1"}
	res.Local.Exposure = exposure(res.Local, []string{"198.51.100.10:2"})
	var text, html bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, res); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Local.Exposure {
		for _, a := range e.Addresses {
			if !strings.Contains(text.String(), a) {
				t.Errorf("text lacks %q", a)
			}
			esc := strings.ReplaceAll(a, "'", "&#39;")
			if !strings.Contains(html.String(), esc) {
				t.Errorf("HTML lacks %q", esc)
			}
			if !strings.Contains(string(js), a) {
				t.Errorf("JSON lacks %q", a)
			}
		}
		if !strings.Contains(text.String(), e.Words()) || !strings.Contains(html.String(), e.Words()) {
			t.Errorf("%s not named in both", e.Client)
		}
	}
}
