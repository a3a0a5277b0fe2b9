package reproduce

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
	"github.com/rtclab/rtclab/scenarios"
)

// udpBlocked is what rtclab diagnose reports behind a firewall that drops
// UDP (the kernel-NAT namespace tests make one): no STUN answer, TURN over
// UDP timed out, TURN over TCP and TLS allocated, only relay-tcp connected.
func udpBlocked() diagnose.Result {
	return diagnose.Result{
		Schema: diagnose.Schema, Target: "http://198.51.100.7:8080", Started: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
		Verdict: diagnose.Verdict{Level: diagnose.Warn, Summary: "Calls work only through a relay."},
		NAT:     &diagnose.NATReport{Result: nat.Result{Reachable: false, Type: nat.Unknown}},
		TURN: []turnprobe.Result{
			{Transport: "udp", OK: false}, {Transport: "tcp", OK: true}, {Transport: "tls", OK: true},
		},
		Paths:    []pathprobe.Result{{Kind: pathprobe.Host}, {Kind: pathprobe.RelayTCP, OK: true}},
		BestPath: pathprobe.RelayTCP,
		Quality: []diagnose.PathQuality{{Path: pathprobe.RelayTCP,
			Ping: pathprobe.PingResult{Sent: 150, Received: 147, LossPct: 2, RTTMs: 84, JitterMs: 6}}},
		Bandwidth: &diagnose.Bandwidth{Path: pathprobe.RelayTCP,
			Up: pathprobe.BandwidthResult{Mbps: 2.5, Bytes: 625000, Ms: 2000}, Down: pathprobe.BandwidthResult{Mbps: 11.9, Bytes: 3e6, Ms: 2000},
			WindowCapKbps: 12000},
	}
}

func withNAT(t nat.Type, m, f nat.Behavior, best pathprobe.Kind, paths ...pathprobe.Kind) diagnose.Result {
	r := diagnose.Result{Schema: diagnose.Schema, BestPath: best,
		NAT:  &diagnose.NATReport{Result: nat.Result{Reachable: true, Type: t, Mapping: m, Filtering: f}},
		TURN: []turnprobe.Result{{Transport: "udp", OK: true}}}
	for _, p := range paths {
		r.Paths = append(r.Paths, pathprobe.Result{Kind: p, OK: true})
	}
	return r
}

func TestScenario(t *testing.T) {
	cases := []struct {
		name   string
		res    diagnose.Result
		want   []string
		absent []string
	}{
		{"udp blocked", udpBlocked(), []string{
			"nat: udp-blocked  # no STUN answer and no TURN over UDP",
			"delay: 42ms  # median RTT 84 ms over relay-tcp (147 probes): half each way",
			"jitter: 4ms  # jitter 6 ms (RFC 3550, of the RTT) = 3.76 ms normal std dev per direction",
			"loss: 1.005%  # 2 % of round trips lost (3 of 150 probes) = 1.01 % each way",
			"rate: 2500kbps  # upload 2500 kbit/s of data-channel goodput",
			"rate: unlimited  # download 11900 kbit/s reached the data channel's window cap (12000 kbit/s)",
			"- metric: relayed",
		}, []string{"firewall:"}},
		{"symmetric", withNAT(nat.Symmetric, nat.AddressAndPortDependent, nat.AddressAndPortDependent, pathprobe.RelayUDP, pathprobe.RelayUDP),
			[]string{"nat: symmetric  # RFC 5780: mapping address-and-port-dependent", "delay: 0ms  # no RTT measured", "rate: unlimited  # bandwidth not measured"},
			[]string{"firewall:", "jitter:", "loss:"}},
		{"open", withNAT(nat.OpenInternet, nat.EndpointIndependent, nat.EndpointIndependent, pathprobe.Host, pathprobe.Host),
			[]string{"nat: open  #"}, []string{"- metric: relayed"}},
		{"a firewall without NAT is spelled out", withNAT(nat.Firewall, nat.EndpointIndependent, nat.AddressDependent, pathprobe.Srflx, pathprobe.Srflx),
			[]string{"nat: {mapping: endpoint-independent, filtering: address-dependent}  #"}, nil},
		{"inconclusive mapping", withNAT(nat.Unknown, nat.Inconclusive, nat.AddressAndPortDependent, pathprobe.Srflx, pathprobe.Srflx),
			[]string{"nat: {mapping: endpoint-independent, filtering: address-and-port-dependent}  #", "mapping not known"}, nil},
		{"relay only behind a cone NAT: UDP only to TURN", withNAT(nat.PortRestrictedCone, nat.EndpointIndependent, nat.AddressAndPortDependent, pathprobe.RelayUDP, pathprobe.RelayUDP),
			[]string{"nat: port-restricted-cone", "firewall: {block_udp: true, allow_udp_to: [turn]}  # only the relay connected"}, nil},
		{"nothing connected", diagnose.Result{Schema: diagnose.Schema}, []string{"nat: port-restricted-cone  # NAT not measured", "max: 0"}, []string{"min: 1"}},
		{"a hostile target stays in its comment", func() diagnose.Result {
			r := udpBlocked()
			r.Target = "x\nname: evil\r\n#"
			r.Verdict.Summary = "\u2028expect: []"
			return r
		}(), []string{"diagnosed x name: evil  #"}, []string{"\nname: evil", "\nexpect: []"}},
		{"absurd numbers are held to the language's bounds", func() diagnose.Result {
			r := udpBlocked()
			r.Quality[0].Ping.RTTMs, r.Quality[0].Ping.LossPct, r.Quality[0].Ping.JitterMs = 1e300, 400, -5
			r.Bandwidth.Up.Mbps, r.Bandwidth.WindowCapKbps = 1e-9, 0
			return r
		}(), []string{"delay: 10000ms", "loss: 100%", "rate: 8kbps"}, []string{"jitter:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := string(Scenario(c.res, Source{From: "test"}))
			if _, err := scenarios.Parse("repro.yaml", []byte(y)); err != nil {
				t.Fatalf("scenario does not validate: %v\n%s", err, y)
			}
			for _, w := range c.want {
				if !strings.Contains(y, w) {
					t.Errorf("lacks %q:\n%s", w, y)
				}
			}
			for _, a := range c.absent {
				if strings.Contains(y, a) {
					t.Errorf("has %q:\n%s", a, y)
				}
			}
			// Every setting line of the customer says where it came from.
			for _, l := range strings.Split(y, "\n") {
				if strings.HasPrefix(l, "    nat:") || strings.HasPrefix(l, "      delay:") || strings.HasPrefix(l, "      rate:") {
					if !strings.Contains(l, "  # ") {
						t.Errorf("no source comment: %q", l)
					}
				}
			}
		})
	}
}

func TestReadResult(t *testing.T) {
	file, err := os.ReadFile("../diagnose/testdata/loopback.json")
	if err != nil {
		t.Fatal(err)
	}
	record, _ := json.Marshal(map[string]any{"id": "abc", "label": "x", "result": json.RawMessage(file)})
	cases := []struct {
		name string
		data string
		ok   bool
	}{
		{"diagnose --json", string(file), true},
		{"a history record", string(record), true},
		{"wrong schema", `{"schema":"rtclab.report/v1"}`, false},
		{"a record holding junk", `{"result":{"schema":"x"}}`, false},
		{"not JSON", `schema: rtclab.diagnose/v1`, false},
		{"empty", ``, false},
	}
	for _, c := range cases {
		res, err := ReadResult([]byte(c.data))
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.ok && res.BestPath != pathprobe.Host {
			t.Errorf("%s: best path %q", c.name, res.BestPath)
		}
	}
}
