package reproduce

import (
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
)

// Source says where a result came from, for the scenario's header.
type Source struct {
	// Name is the scenario's name (see ValidName); empty or invalid means
	// "reproduce".
	Name string
	// From is the result's file or history id.
	From string
}

// ValidName says whether name may name a reproduced scenario: 1 to 64
// lower-case letters, digits and '-'.
func ValidName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// Scenario writes the scenario YAML for res: a "customer" on the measured
// network and a "peer" on an open one, both publishing audio and video
// through the SFU for 30 s, with checks that say what the measurement
// saw (connected; relayed when only a relay worked).
func Scenario(res diagnose.Result, src Source) []byte {
	m := measure(res)
	var b strings.Builder
	name := src.Name
	if !ValidName(name) {
		name = "reproduce"
	}
	line := func(indent int, text, why string) {
		b.WriteString(strings.Repeat(" ", indent) + text)
		if why != "" {
			b.WriteString("  # " + why)
		}
		b.WriteString("\n")
	}
	line(0, "# Written by rtclab reproduce from "+clean(src.From), "")
	line(0, fmt.Sprintf("# diagnosed %s at %s: %s — %s", clean(res.Target), res.Started.UTC().Format("2006-01-02 15:04 UTC"),
		clean(string(res.Verdict.Level)), clean(res.Verdict.Summary)), "")
	line(0, "# The measured path is put on the customer's access link; the lab's servers", "")
	line(0, "# stand where the diagnosed server stood.", "")
	line(0, "name: "+name, "")
	line(0, "description: >-", "")
	line(2, "The network measured by rtclab diagnose ("+clean(res.Target)+"), reproduced in the lab.", "")
	line(0, "topology: sfu", "the diagnosis measured a path to a server-side peer")
	line(0, "duration: 30s", "")
	line(0, "ice:", "")
	line(2, "stun: true", "")
	line(2, "turn: true", "")
	line(2, "turn_tcp: true", m.turnTCPWhy)
	line(0, "participants:", "")
	line(2, "- name: customer", "")
	line(4, "nat: "+m.nat, m.natWhy)
	if m.firewall != "" {
		line(4, "firewall: "+m.firewall, m.firewallWhy)
	}
	line(4, "publish: [audio, video]", "")
	for _, dir := range []struct {
		name string
		rate string
		why  string
	}{{"uplink", m.up, m.upWhy}, {"downlink", m.down, m.downWhy}} {
		line(4, dir.name+":", "")
		line(6, "delay: "+m.delay, m.delayWhy)
		if m.jitter != "" {
			line(6, "jitter: "+m.jitter, m.jitterWhy)
			line(6, "jitter_distribution: normal", "a sum of independent queueing delays")
		}
		if m.loss != "" {
			line(6, "loss: "+m.loss, m.lossWhy)
		}
		if dir.rate != "" {
			line(6, "rate: "+dir.rate, dir.why)
		} else {
			line(6, "rate: unlimited", dir.why)
		}
	}
	line(2, "- name: peer", "the other end of the call, on an open network")
	line(4, "nat: open", "not measured: the far end on a public address, so the customer's side alone decides")
	line(4, "publish: [audio, video]", "")
	line(0, "expect:", "")
	if m.connected {
		line(2, "- metric: connected", "the diagnosis connected ("+string(res.BestPath)+")")
		line(4, "participant: customer", "")
		line(4, "min: 1", "")
		if m.relayOnly {
			line(2, "- metric: relayed", "only a relay connected in the diagnosis")
			line(4, "participant: customer", "")
			line(4, "min: 1", "")
		}
	} else {
		line(2, "- metric: connected", "no path connected in the diagnosis")
		line(4, "participant: customer", "")
		line(4, "max: 0", "")
	}
	return []byte(b.String())
}

// measured is what the scenario takes from a result, each value with why.
type measured struct {
	nat, natWhy              string
	firewall, firewallWhy    string
	turnTCPWhy               string
	delay, delayWhy          string
	jitter, jitterWhy        string
	loss, lossWhy            string
	up, upWhy, down, downWhy string
	connected, relayOnly     bool
}

// Bounds of the scenario language (docs/netem.md) the values are held to.
const (
	maxDelayMs = 10000
	minKbps    = 8
	maxKbps    = 100e6
)

func measure(res diagnose.Result) measured {
	m := measured{connected: res.BestPath != "", relayOnly: res.BestPath.IsRelay()}
	turnOK := map[string]bool{}
	for _, t := range res.TURN {
		if t.OK {
			turnOK[string(t.Transport)] = true
		}
	}
	pathOK := map[pathprobe.Kind]bool{}
	for _, p := range res.Paths {
		if p.OK {
			pathOK[p.Kind] = true
		}
	}
	stunOK := res.NAT != nil && res.NAT.Reachable
	udpBlocked := !stunOK && !turnOK["udp"] && (turnOK["tcp"] || turnOK["tls"] || pathOK[pathprobe.RelayTCP] || pathOK[pathprobe.RelayTLS])
	m.turnTCPWhy = fmt.Sprintf("TURN allocations: udp %s, tcp %s, tls %s", okWord(turnOK["udp"]), okWord(turnOK["tcp"]), okWord(turnOK["tls"]))

	// NAT and firewall.
	switch {
	case udpBlocked:
		m.nat = "udp-blocked"
		m.natWhy = "no STUN answer and no TURN over UDP, but TURN over TCP/TLS worked: a firewall drops UDP"
	case res.NAT == nil || !res.NAT.Reachable:
		m.nat = "port-restricted-cone"
		m.natWhy = "NAT not measured (no STUN answer): the most common home NAT assumed"
	default:
		m.nat, m.natWhy = natOf(res.NAT)
	}
	if !udpBlocked && m.relayOnly && pathOK[pathprobe.RelayUDP] && m.nat != "symmetric" {
		m.firewall = "{block_udp: true, allow_udp_to: [turn]}"
		m.firewallWhy = "only the relay connected (" + string(res.BestPath) + ") although the NAT allows direct paths: UDP goes only to the TURN server"
	}

	// The path's quality: the best path's paced probes.
	var q *diagnose.PathQuality
	for i := range res.Quality {
		if res.Quality[i].Path == res.BestPath {
			q = &res.Quality[i]
		}
	}
	if q == nil {
		m.delay, m.delayWhy = "0ms", "no RTT measured (no path connected)"
	} else {
		p := q.Ping
		rtt := clamp(p.RTTMs, 0, 2*maxDelayMs)
		m.delay = ms(rtt / 2)
		m.delayWhy = fmt.Sprintf("median RTT %s ms over %s (%d probes): half each way", num(p.RTTMs), q.Path, p.Received)
		if j := clamp(p.JitterMs, 0, maxDelayMs); j > 0 {
			// The RFC 3550 jitter J of round-trip times is the mean |D| of
			// consecutive RTTs; for normal per-direction delay of std dev s,
			// mean |D| = 2s*sqrt(2)/sqrt(pi), so s = J*sqrt(pi)/(2*sqrt(2)).
			s := j * math.Sqrt(math.Pi) / (2 * math.Sqrt2)
			m.jitter = ms(s)
			m.jitterWhy = fmt.Sprintf("jitter %s ms (RFC 3550, of the RTT) = %s ms normal std dev per direction", num(p.JitterMs), num(s))
		}
		if l := clamp(p.LossPct, 0, 100); l > 0 {
			// A probe is lost if either direction loses it.
			each := 100 * (1 - math.Sqrt(1-l/100))
			m.loss = pct(each)
			m.lossWhy = fmt.Sprintf("%s %% of round trips lost (%d of %d probes) = %s %% each way", num(p.LossPct), p.Sent-p.Received, p.Sent, num(each))
		}
	}

	// Bandwidth.
	m.upWhy, m.downWhy = "bandwidth not measured", "bandwidth not measured"
	if bw := res.Bandwidth; bw != nil {
		m.up, m.upWhy = rate("upload", bw.Up, bw.WindowCapKbps)
		m.down, m.downWhy = rate("download", bw.Down, bw.WindowCapKbps)
	}
	return m
}

// natOf maps RFC 5780 behaviour to a preset, or spells it out.
func natOf(n *diagnose.NATReport) (string, string) {
	why := fmt.Sprintf("RFC 5780: mapping %s, filtering %s (%s)", n.Mapping, n.Filtering, clean(n.Words))
	switch n.Type {
	case nat.OpenInternet:
		return "open", why
	case nat.FullCone, nat.RestrictedCone, nat.PortRestrictedCone, nat.Symmetric:
		return string(n.Type), why
	}
	known := func(b nat.Behavior) bool {
		return b == nat.EndpointIndependent || b == nat.AddressDependent || b == nat.AddressAndPortDependent
	}
	if known(n.Mapping) && known(n.Filtering) {
		return fmt.Sprintf("{mapping: %s, filtering: %s}", n.Mapping, n.Filtering), why + "; spelled out"
	}
	if known(n.Filtering) {
		// A firewall without NAT, or a mapping that could not be told:
		// the lab filters only behind a NAT.
		return fmt.Sprintf("{mapping: endpoint-independent, filtering: %s}", n.Filtering), why + "; mapping not known, endpoint-independent assumed"
	}
	return "port-restricted-cone", why + "; inconclusive, the most common home NAT assumed"
}

// rate is a link rate from a bandwidth test, unless the data channel's
// window, not the network, limited it (then the network's capacity is
// unknown and the link is left unlimited).
func rate(dir string, r pathprobe.BandwidthResult, capKbps float64) (string, string) {
	kbps := r.Mbps * 1000
	if !(kbps > 0) || math.IsInf(kbps, 0) {
		return "", dir + ": nothing measured"
	}
	if capKbps > 0 && kbps >= 0.9*capKbps {
		return "", fmt.Sprintf("%s %s kbit/s reached the data channel's window cap (%s kbit/s): the network's capacity is higher and unknown", dir, num(kbps), num(capKbps))
	}
	// Goodput counts data-channel payload; the link counts IP packets
	// (about 3 % more for 1200-byte chunks): the goodput is a lower bound.
	v := clamp(kbps, minKbps, maxKbps)
	return fmt.Sprintf("%.0fkbps", v), fmt.Sprintf("%s %s kbit/s of data-channel goodput (%d bytes in %s ms)", dir, num(kbps), r.Bytes, num(r.Ms))
}

func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return math.Max(lo, math.Min(hi, v))
}

func ms(v float64) string {
	if v >= 1 {
		return fmt.Sprintf("%.0fms", math.Round(v))
	}
	return fmt.Sprintf("%.0fus", math.Round(v*1000))
}

func pct(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".") + "%"
}

func num(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "failed"
}

// clean makes text from a result safe in a YAML comment: one line of
// printable characters, at most 200.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	if len([]rune(s)) > 200 {
		s = string([]rune(s)[:200]) + "…"
	}
	return s
}
