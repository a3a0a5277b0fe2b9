package scenarios

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const valid = `name: t
duration: 10s
participants:
  - name: alice
    nat: symmetric
    publish: [audio]
    downlink: {loss: 3%, delay: 40ms}
`

func TestParseValid(t *testing.T) {
	s, err := Parse("t.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Participants[0]
	if s.Topology != "sfu" || s.Seed != 1 || p.Downlink.Loss.Value != 0.03 || p.Downlink.Delay.Milliseconds() != 40 {
		t.Errorf("parsed %+v", s)
	}
}

// Every error names file:line, the field, and what is allowed.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", strings.Replace(valid, "    nat: symmetric", "    nat: symmetric\n    colour: red", 1),
			[]string{"t.yaml:6: participants[0].colour: unknown field \"colour\" (allowed: name, nat, firewall, publish, video, simulcast, codecs, lan, mdns, client, uplink, downlink, e2ee)"}},
		{"bad nat", strings.Replace(valid, "symmetric", "cone", 1),
			[]string{"t.yaml:5: participants[0].nat: unknown NAT \"cone\" (allowed: open, full-cone"}},
		{"negative loss", strings.Replace(valid, "3%", "-3%", 1),
			[]string{"t.yaml:7: participants[0].downlink.loss: -3% is outside 0%..100%"}},
		{"loss not a number", strings.Replace(valid, "3%", "lots", 1),
			[]string{"t.yaml:7: participants[0].downlink.loss: \"lots\" is not a number"}},
		{"delay without unit", strings.Replace(valid, "40ms", "40", 1),
			[]string{"t.yaml:7: participants[0].downlink.delay: \"40\" has no unit"}},
		{"missing duration", strings.Replace(valid, "duration: 10s\n", "", 1),
			[]string{"t.yaml:1: duration: is required"}},
		{"bad topology", valid + "topology: mesh\n",
			[]string{"t.yaml:8: topology: unknown topology \"mesh\" (allowed: sfu, p2p, flows)"}},
		{"p2p needs two", valid + "topology: p2p\n",
			[]string{"participants: the p2p topology takes exactly 2 participants, not 1"}},
		{"bad media", strings.Replace(valid, "[audio]", "[audio, smell]", 1),
			[]string{"t.yaml:6: participants[0].publish[1]: unknown media \"smell\" (allowed: audio, video)"}},
		{"unknown metric", valid + "expect:\n  - metric: happiness\n    min: 1\n",
			[]string{"t.yaml:9: expect[0].metric: unknown metric \"happiness\" (allowed: addresses_exposed, bitrate_kbps, connected"}},
		{"unknown participant", valid + "expect:\n  - metric: loss_fraction\n    to: carol\n    max: 1%\n",
			[]string{"t.yaml:10: expect[0].to: no participant named \"carol\""}},
		{"min above max", valid + "expect:\n  - metric: loss_fraction\n    min: 5%\n    max: 1%\n",
			[]string{"expect[0].min: min 0.05 is above max 0.01"}},
		{"two problems reported", strings.Replace(strings.Replace(valid, "symmetric", "cone", 1), "3%", "300%", 1),
			[]string{"unknown NAT \"cone\"", "300% is outside 0%..100%"}},
		{"wrong type", strings.Replace(valid, "[audio]", "audio", 1),
			[]string{"t.yaml:6: participants[0].publish: \"audio\" is not valid here: want a list"}},
		{"yaml syntax", "name: [unclosed\n", []string{"t.yaml:"}},
		{"empty", "", []string{"t.yaml: the file is empty"}},
		{"unknown field under its own path", strings.Replace(valid, "downlink:", "downlnk:", 1),
			[]string{`t.yaml:7: participants[0].downlnk: unknown field "downlnk" (allowed: name, nat, firewall, publish, video, simulcast, codecs, lan, mdns, client, uplink, downlink, e2ee); did you mean "downlink"?`}},
		{"NAT typo", strings.Replace(valid, "symmetric", "symetric", 1),
			[]string{`t.yaml:5: participants[0].nat: unknown NAT "symetric" (allowed: open, full-cone, restricted-cone, port-restricted-cone, symmetric, double-nat, udp-blocked, or a mapping with mapping/filtering); did you mean "symmetric"?`}},
		{"signaling mdns mode typo", valid + "servers:\n  signaling:\n    mdns: strp\n",
			[]string{`t.yaml:10: servers.signaling.mdns: unknown mode "strp" (allowed: strip, reject); did you mean "strip"?`}},
		{"lan name", strings.Replace(valid, "    nat: symmetric", "    nat: symmetric\n    lan: Home", 1),
			[]string{`t.yaml:6: participants[0].lan: lan "Home": use 1-32 lower-case letters`}},
		{"one LAN, two NATs", strings.Replace(valid, "    nat: symmetric", "    nat: symmetric\n    lan: home", 1) +
			"  - name: bob\n    nat: full-cone\n    lan: home\n",
			[]string{`participants[1].nat: LAN "home" has one NAT: alice is behind symmetric, so bob must be too (declare the same nat)`}},
		{"mdns in flows", "name: f\ntopology: flows\nduration: 10s\nparticipants:\n  - name: a\n    mdns: true\n",
			[]string{`t.yaml:6: participants[0].mdns: mdns applies to calls (sfu, p2p), not the flows topology`}},
		{"metric typo", valid + "expect:\n  - metric: loss_fractoin\n    max: 1%\n",
			[]string{`did you mean "loss_fraction"?`}},
		{"e2ee without key", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee: {cipher: aes_128_gcm}", 1),
			[]string{`t.yaml:7: participants[0].e2ee.key: key is required`, `t.yaml:7: participants[0].e2ee.cipher: unknown cipher "aes_128_gcm" (allowed: aes_128_ctr_hmac_sha256_80, aes_128_ctr_hmac_sha256_64, aes_128_ctr_hmac_sha256_32, aes_128_gcm_sha256_128, aes_256_gcm_sha512_128)`}},
		{"e2ee with av1", strings.Replace(valid, "    publish: [audio]", "    publish: [audio, video]\n    video: av1\n    e2ee: {key: k}", 1),
			[]string{`t.yaml:8: participants[0].e2ee: e2ee supports vp8, vp9 and h264 video (and opus): av1 is not supported`}},
		{"e2ee for some only", valid + "  - {name: bob, publish: [video], e2ee: {key: k}}\n",
			[]string{`participants: e2ee is set for bob but not for alice`}},
		{"e2ee key id shared", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee: {key: k, key_id: 1}", 1) + "  - {name: bob, publish: [video], e2ee: {key: k}}\n",
			[]string{`t.yaml:9: participants[1].e2ee.key_id: key_id 1 is alice's too, with the same key`}},
		{"e2ee key id too big", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee: {key: k, key_id: 4294967296}", 1),
			[]string{`participants[0].e2ee.key_id: key_id 4294967296 is outside 0..4294967295`}},
		{"e2ee keys and key", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee: {key: k, keys: [{kid: 1, key: a}]}", 1),
			[]string{`t.yaml:7: participants[0].e2ee.keys: give either key (and key_id) or keys, not both`}},
		{"e2ee keys: no kid, no key", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee:\n      keys:\n        - {key: a}\n        - {kid: 2, from: 5s}", 1),
			[]string{`t.yaml:9: participants[0].e2ee.keys[0]: kid is required: the SFrame key ID`, `t.yaml:10: participants[0].e2ee.keys[1]: key is required: a passphrase`}},
		{"e2ee keys: kid twice, from twice", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee:\n      keys:\n        - {kid: 1, key: a}\n        - {kid: 1, key: b, from: 0s}", 1),
			[]string{`t.yaml:10: participants[0].e2ee.keys[1].kid: kid 1 is keys[0]'s too`, `participants[0].e2ee.keys[1].from: from 0s is keys[0]'s too: two keys cannot start at once`}},
		{"e2ee keys: from past the end, none from 0", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee:\n      keys:\n        - {kid: 1, key: a, from: 2s}\n        - {kid: 2, key: b, from: 10s}", 1),
			[]string{`t.yaml:10: participants[0].e2ee.keys[1].from: from 10s is outside 0s..10s (the scenario's duration)`}},
		{"e2ee keys: none from 0", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee:\n      keys:\n        - {kid: 1, key: a, from: 2s}", 1),
			[]string{`t.yaml:8: participants[0].e2ee.keys: no key starts at 0s`}},
		{"e2ee keys: unknown field", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee:\n      keys:\n        - {kid: 1, key: a, start: 2s}", 1),
			[]string{`participants[0].e2ee.keys[0].start: unknown field "start" (allowed: kid, key, from)`}},
		{"e2ee keys for some, key for others", strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee: {keys: [{kid: 1, key: a}]}", 1) + "  - {name: bob, publish: [video], e2ee: {key: k}}\n",
			[]string{`participants: some participants have e2ee keys (a schedule) and others e2ee key: use one form for everyone`}},
		{"syntax error on its line", strings.Replace(valid, "    nat:", "   nat:", 1),
			[]string{"t.yaml:5: did not find expected '-' indicator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %v\nlacks\n  %s", err, w)
				}
			}
		})
	}
}

// A key schedule parses with its KIDs and start times, the first key
// from 0 by default.
func TestParseKeySchedule(t *testing.T) {
	y := strings.Replace(valid, "    publish: [audio]", "    publish: [audio]\n    e2ee:\n      keys:\n        - {kid: 1, key: first}\n        - {kid: 2, key: second, from: 4s}", 1)
	s, err := Parse("t.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	k := s.Participants[0].E2EE.Keys
	if len(k) != 2 || *k[0].KID != 1 || k[0].From.Duration != 0 || *k[1].KID != 2 || k[1].Key != "second" || k[1].From.Seconds() != 4 {
		t.Errorf("keys %+v", k)
	}
}

func TestLoadMistypedBuiltin(t *testing.T) {
	_, err := Load("quickstrat")
	if err == nil || !strings.HasSuffix(err.Error(), `; did you mean "quickstart"?`) {
		t.Errorf("err = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("no/such.yaml")
	if err == nil || !strings.Contains(err.Error(), "no/such.yaml: no such file (built-in scenarios: quickstart") {
		t.Errorf("err = %v", err)
	}
}

func TestBuiltinsLoad(t *testing.T) {
	for _, name := range BuiltinNames() {
		if _, err := Load(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// e2ee's defaults: a key ID per position, AES-GCM.
func TestParseE2EE(t *testing.T) {
	y := valid + "    e2ee: {key: secret}\n  - {name: bob, publish: [video], e2ee: {key: secret, cipher: AES_128_CTR_HMAC_SHA256_80}}\n"
	s, err := Parse("t.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.Participants[0].E2EE, s.Participants[1].E2EE
	if *a.KeyID != 0 || *b.KeyID != 1 || a.Suite != 0x0004 || b.Suite != 0x0001 || b.Cipher != "aes_128_ctr_hmac_sha256_80" {
		t.Errorf("parsed %+v %+v", a, b)
	}
}

// A percentage is the decimal two places over, rounded once, so a check
// holds at its boundary: `max: 0.7%` against 7 lost of 1000 (the report's
// 0.007) passed only if 0.7 * 0.01 were not one ulp under 0.007; it was,
// and 291 of the 1001 percentages 0.0 % .. 100.0 % in steps of 0.1 were
// off by one ulp one way or the other.
func TestParsePercentExact(t *testing.T) {
	for i := 0; i <= 1000; i++ {
		s := strconv.FormatFloat(float64(i)/10, 'f', -1, 64) + "%"
		got, err := parsePercent(&yaml.Node{Kind: yaml.ScalarNode, Value: s})
		if err != nil {
			t.Fatal(err)
		}
		if want := float64(i) / 1000; got != want {
			t.Errorf("%s = %v, want %v (the fraction a count of %d per 1000 gives)", s, got, want, i)
		}
	}
	for in, want := range map[string]float64{"3%": 0.03, " 12.5 % ": 0.125, "1e1%": 0.1, "0.03": 0.03} {
		if got, err := parsePercent(&yaml.Node{Kind: yaml.ScalarNode, Value: in}); err != nil || got != want {
			t.Errorf("%q = %v (%v), want %v", in, got, err, want)
		}
	}
}
