package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/reports"
)

func privacyFixture() *reports.Privacy {
	return &reports.Privacy{
		Parties: []reports.PrivacyParty{
			{Party: "alice", Saw: []reports.SeenAddress{
				{Whose: "bob", Address: "10.0.2.2", Class: reports.ClassPrivate, Via: []string{reports.ViaCandidate}},
				{Whose: "bob", Address: "198.51.100.10", Class: reports.ClassPublic, Relay: true, Via: []string{reports.ViaCandidate}},
				{Whose: "bob", Address: "203.0.113.11", Class: reports.ClassPublic, Via: []string{reports.ViaCandidate, reports.ViaPacket}},
			}},
			{Party: "bob", Saw: []reports.SeenAddress{
				{Whose: "alice", Address: "198.51.100.10", Class: reports.ClassPublic, Relay: true, Via: []string{reports.ViaCandidate}},
				{Whose: "turn", Address: "198.51.100.10", Class: reports.ClassPublic, Via: []string{reports.ViaPacket}},
			}},
			{Party: "signaling", Saw: []reports.SeenAddress{
				{Whose: "alice", Address: "10.0.1.2", Class: reports.ClassPrivate, Via: []string{reports.ViaCandidate}},
			}},
			{Party: "turn", Saw: []reports.SeenAddress{
				{Whose: "alice", Address: "203.0.113.10", Class: reports.ClassPublic, Via: []string{reports.ViaAllocation}},
			}},
		},
		Hops:            []reports.PrivacyHop{{Hop: "turn", VideoPackets: 361}},
		ClearExtensions: []string{"urn:ietf:params:rtp-hdrext:ssrc-audio-level"},
	}
}

// Only what another participant saw counts: the servers, a relay
// address and the participant itself do not.
func TestExposedAddresses(t *testing.T) {
	p := privacyFixture()
	for name, want := range map[string]int{"bob": 2, "alice": 0, "carol": 0} {
		if got := p.ExposedAddresses(name); got != want {
			t.Errorf("%s: %d exposed, want %d", name, got, want)
		}
	}
	if got := (*reports.Privacy)(nil).ExposedAddresses("bob"); got != 0 {
		t.Errorf("nil privacy: %d", got)
	}
}

func TestPrivacySection(t *testing.T) {
	r := fixture()
	var before bytes.Buffer
	if err := reports.WriteText(&before, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(before.String(), "Privacy") {
		t.Error("a report without privacy shows a privacy section")
	}
	r.Privacy = privacyFixture()
	var text, page, js bytes.Buffer
	if err := reports.WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteHTML(&page, r, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := reports.WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	back, err := reports.ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Privacy, r.Privacy) {
		t.Errorf("privacy read back %+v, want %+v", back.Privacy, r.Privacy)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js.Write(bytes.Join(bytes.Fields(data), nil))
	for _, want := range []string{"Privacy (what each party saw)", "bob (relay)", "candidate, packet", "turn-allocation",
		"media at turn: not readable (ciphertext) (361 VP8 packets, 0 parse as keyframes, 0 of 0 keyframes tried decoded to the sender's picture)", "in clear: urn:ietf:params:rtp-hdrext:ssrc-audio-level"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text has no %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{"<h2>Privacy</h2>", "<td>bob (relay)</td>", "<h2>Media readable at</h2>", "not readable (ciphertext)"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page has no %q", want)
		}
	}
	for _, want := range []string{`"privacy":{"parties":[`, `"via":["candidate","packet"]`, `"clear_header_extensions":[`, `"relay":true`, `"keyframes_tried":0`, `"keyframes_decoded":0`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON has no %s", want)
		}
	}
}
