package diagnose

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pion/stun/v3"

	"github.com/rtclab/rtclab/probes/nat"
	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
)

// analyze grades the measurements and writes the findings and verdict.
func analyze(res *Result) {
	var f []Finding
	add := func(level Level, area, text, fix string) {
		f = append(f, Finding{Level: level, Area: area, Text: text, Fix: fix})
	}

	// NAT.
	var stunDown *Finding
	if n := res.NAT; n != nil {
		switch {
		case !n.Reachable:
			// Said after the TURN findings, which explain more when UDP is blocked.
			stunDown = &Finding{Level: Warn, Area: "nat",
				Text: fmt.Sprintf("The STUN server %s did not answer over UDP: UDP to it is blocked, or the server is down.", n.Server),
				Fix:  fmt.Sprintf("Allow outbound UDP to %s.", n.Server)}
		default:
			add(Info, "nat", fmt.Sprintf("STUN over UDP works (RTT %.0f ms); this machine is seen as %s.", n.RTTMs, n.Mapped), "")
			switch n.Type {
			case nat.Symmetric:
				add(Warn, "nat", "This network has a symmetric NAT: its mapping is "+string(n.Mapping)+
					". Direct peer-to-peer calls with people who are also behind NAT will fail; such calls need the TURN relay.",
					"Use a NAT with endpoint-independent mapping (RFC 4787 REQ-1), or make sure TURN works.")
			case nat.Unknown:
				add(Info, "nat", "The NAT behaviour is inconclusive: "+n.Reason+".", "")
			default:
				add(Good, "nat", fmt.Sprintf("NAT: %s (mapping %s, filtering %s).", n.Words, n.Mapping, n.Filtering), "")
			}
		}
	}

	// TURN.
	byTr := map[turnprobe.Transport]turnprobe.Result{}
	for _, t := range res.TURN {
		if _, seen := byTr[t.Transport]; !seen || t.OK {
			byTr[t.Transport] = t
		}
	}
	if len(res.TURN) > 0 {
		var ok, failed []turnprobe.Result
		for _, t := range res.TURN {
			if t.OK {
				ok = append(ok, t)
			} else {
				failed = append(failed, t)
			}
		}
		udp, hasUDP := byTr[turnprobe.UDP]
		if hasUDP && !udp.OK && udp.Failure == turnprobe.FailTimeout {
			var over []string
			for _, tr := range []turnprobe.Transport{turnprobe.TCP, turnprobe.TLS} {
				if t, ok := byTr[tr]; ok && t.OK {
					over = append(over, strings.ToUpper(string(tr))+" on "+portOf(t.URL))
				}
			}
			if len(over) > 0 {
				add(Warn, "turn", fmt.Sprintf("UDP to the TURN server is blocked; calls will relay over %s, which adds latency.", strings.Join(over, " or ")),
					fmt.Sprintf("Allow UDP %s and 49152–65535 to %s.", portOf(udp.URL), hostOf(udp.URL)))
			}
		}
		for _, t := range failed {
			add(Warn, "turn", fmt.Sprintf("TURN over %s to %s failed after %.0f ms: %s.", strings.ToUpper(string(t.Transport)), hostPort(t.URL), t.Ms, failureWords(t)), turnFix(t))
		}
		for _, t := range ok {
			add(Info, "turn", fmt.Sprintf("TURN over %s to %s works (allocation in %.0f ms).", strings.ToUpper(string(t.Transport)), hostPort(t.URL), t.Ms), "")
		}
		if len(ok) == 0 {
			add(Bad, "turn", "No TURN allocation succeeded: users whose networks block direct connections will not be able to call.", "")
		}
	}

	if stunDown != nil {
		f = append(f, *stunDown)
	}

	// Paths.
	var direct, relayed, tried, busy []string
	for _, p := range res.Paths {
		if p.Reason != "" && !p.OK && strings.HasPrefix(p.Reason, "the ") {
			continue // skipped because of phase 1; already said
		}
		if p.ServerBusy {
			busy = append(busy, string(p.Kind))
			continue // not tried: the server's state, not this network's
		}
		tried = append(tried, string(p.Kind))
		if p.OK {
			if p.Kind.IsRelay() {
				relayed = append(relayed, string(p.Kind))
			} else {
				direct = append(direct, string(p.Kind))
			}
		} else {
			add(Info, "paths", fmt.Sprintf("The %s path to the test peer did not connect: %s.", p.Kind, p.Reason), "")
		}
	}
	if len(busy) > 0 {
		add(Warn, AreaServer, fmt.Sprintf("The rtclab server was busy and refused the test call for %s: those paths were not tried, which says nothing about this network.",
			strings.Join(busy, ", ")), "Run the diagnosis again in a minute; if it stays busy, the server's operator can raise --max-peers or --http-rate.")
	}
	switch {
	case len(tried) == 0:
	case len(direct) == 0 && len(relayed) == 0 && len(busy) > 0:
		add(Warn, "paths", "No path tried to the test peer connected ("+strings.Join(tried, ", ")+"); the others could not be tried, so this is not conclusive.", "")
	case len(direct) == 0 && len(relayed) == 0:
		add(Bad, "paths", "No path to the test peer connected: calls will fail on this network.", "")
	case len(direct) == 0:
		add(Warn, "paths", "Direct UDP to the test peer does not work; only relayed paths do ("+strings.Join(relayed, ", ")+"). Calls will go through TURN.", "")
	default:
		words := "Paths that work: " + strings.Join(append(direct, relayed...), ", ") + "."
		add(Good, "paths", words, "")
	}

	// Quality metrics.
	for i, q := range res.Quality {
		res.Metrics = append(res.Metrics,
			metric(MetricRTT, q.Path, q.Ping.RTTMs),
			metric(MetricJitter, q.Path, q.Ping.JitterMs),
			metric(MetricLoss, q.Path, round2(q.Ping.LossPct)),
			metric(MetricMOS, q.Path, q.Audio.MOS),
		)
		if i == 0 {
			a := q.Audio
			res.Audio = &a
		}
	}
	if bw := res.Bandwidth; bw != nil {
		up, down := bw.Up.Mbps*1000, bw.Down.Mbps*1000
		res.Metrics = append(res.Metrics, metric(MetricUpload, bw.Path, round2(up)), metric(MetricDownload, bw.Path, round2(down)))
		res.Video = &VideoVerdict{Send: Resolution(up), Receive: Resolution(down), UpKbps: round2(up), DownKbps: round2(down)}
		add(Info, "video", fmt.Sprintf("Video: this network can send %s and receive %s (up %s, down %s).",
			res.Video.Send, res.Video.Receive, kbpsWords(up), kbpsWords(down)), "")
	}
	for _, m := range res.Metrics {
		if m.Level == Good {
			continue
		}
		add(m.Level, metricArea(m.Name), fmt.Sprintf("%s over the %s path is %s: %s (%s).", metricWords(m.Name), m.Path, m.Level, valueWords(m), m.Rule), metricFix(m.Name))
	}
	if res.Audio != nil && res.Audio.Level == Good {
		add(Good, "audio", fmt.Sprintf("Audio should sound good: estimated MOS %.1f (E-model R %.0f).", res.Audio.MOS, res.Audio.R), "")
	}

	// Privacy.
	var relays []string
	for _, t := range res.TURN {
		if t.OK && t.Relayed != "" {
			relays = append(relays, t.Relayed)
		}
	}
	res.Local.Exposure = exposure(res.Local, relays)
	res.Local.Note = privacyNote(res.Local)
	res.Encryption = encryption(res.Paths)
	if res.Local.Note != "" {
		add(Info, "privacy", res.Local.Note, "")
	}

	sort.SliceStable(f, func(i, j int) bool { return f[i].Level.rank() > f[j].Level.rank() })
	res.Findings = f
	res.Verdict = verdict(f)
}

func metric(name string, path pathprobe.Kind, v float64) Metric {
	t, _ := threshold(name)
	return Metric{Name: name, Path: path, Value: v, Unit: t.Unit, Level: t.Classify(v), Rule: t.Describe()}
}

func metricWords(name string) string {
	switch name {
	case MetricRTT:
		return "Round-trip time"
	case MetricJitter:
		return "Jitter"
	case MetricLoss:
		return "Packet loss"
	case MetricUpload:
		return "Upload bandwidth"
	case MetricDownload:
		return "Download bandwidth"
	case MetricMOS:
		return "Estimated audio MOS"
	}
	return name
}

func metricArea(name string) string {
	switch name {
	case MetricUpload, MetricDownload:
		return "bandwidth"
	case MetricMOS:
		return "audio"
	}
	return "quality"
}

func metricFix(name string) string {
	switch name {
	case MetricRTT:
		return "Use a wired connection or a closer TURN server; avoid VPNs that route traffic far away."
	case MetricJitter, MetricLoss:
		return "Use a wired connection instead of Wi-Fi, and stop large downloads or uploads during calls."
	case MetricUpload, MetricDownload:
		return "Stop other traffic on this network during calls, or get a faster connection."
	}
	return ""
}

func valueWords(m Metric) string {
	switch m.Unit {
	case "":
		return fmt.Sprintf("%.2f", m.Value)
	case "kbps":
		return kbpsWords(m.Value)
	case "%":
		return fmt.Sprintf("%.1f %%", m.Value)
	}
	if m.Value < 10 {
		return fmt.Sprintf("%.1f %s", m.Value, m.Unit)
	}
	return fmt.Sprintf("%.0f %s", m.Value, m.Unit)
}

func kbpsWords(kbps float64) string {
	if kbps >= 1000 {
		return fmt.Sprintf("%.1f Mbit/s", kbps/1000)
	}
	return fmt.Sprintf("%.0f kbit/s", kbps)
}

func failureWords(t turnprobe.Result) string {
	switch t.Failure {
	case turnprobe.FailTimeout:
		return "no answer (timeout) — the port is blocked or the server is down"
	case turnprobe.FailRefused:
		return "connection refused — nothing listens on that port"
	case turnprobe.FailAuth:
		return "the server rejected the credentials (auth)"
	case turnprobe.FailTLS:
		return "the TLS handshake failed (" + t.Error + ")"
	case turnprobe.FailDNS:
		return "the server name does not resolve (DNS)"
	}
	return t.Error
}

func turnFix(t turnprobe.Result) string {
	switch t.Failure {
	case turnprobe.FailTimeout:
		return fmt.Sprintf("Allow outbound %s to %s.", strings.ToUpper(protoOf(t.Transport)), hostPort(t.URL))
	case turnprobe.FailAuth:
		return "Check the TURN username and password, or the REST shared secret and the clocks of both machines."
	case turnprobe.FailTLS:
		return "Check the server's certificate (name, expiry, issuer), or give its CA with --tls-ca; a TLS-inspecting proxy can cause this too."
	case turnprobe.FailDNS:
		return "Check the server name and this machine's DNS."
	case turnprobe.FailRefused:
		return "Check the TURN server's listening ports."
	}
	return ""
}

func protoOf(tr turnprobe.Transport) string {
	if tr == turnprobe.UDP {
		return "udp"
	}
	return "tcp"
}

func hostPort(raw string) string {
	u, err := stun.ParseURI(raw)
	if err != nil {
		return raw
	}
	return u.Host + ":" + strconv.Itoa(u.Port)
}

func hostOf(raw string) string {
	if u, err := stun.ParseURI(raw); err == nil {
		return u.Host
	}
	return raw
}

func portOf(raw string) string {
	if u, err := stun.ParseURI(raw); err == nil {
		return strconv.Itoa(u.Port)
	}
	return "?"
}

func privacyNote(l LocalReport) string {
	if len(l.Addresses) == 0 && l.Mapped == "" {
		return ""
	}
	var priv, pub []string
	for _, a := range l.Addresses {
		if a.Private {
			priv = append(priv, a.IP+" ("+a.Scope+")")
		} else {
			pub = append(pub, a.IP)
		}
	}
	var parts []string
	if len(priv) > 0 {
		parts = append(parts, "its local addresses "+strings.Join(priv, ", "))
	}
	if len(pub) > 0 {
		parts = append(parts, "its public interface addresses "+strings.Join(pub, ", "))
	}
	if l.Mapped != "" {
		parts = append(parts, "its public (mapped) address "+l.Mapped)
	}
	return "A WebRTC app on this machine shows the other party " + strings.Join(parts, ", and ") +
		". Browsers hide local addresses behind mDNS .local names; native apps usually do not."
}

func verdict(f []Finding) Verdict {
	level := Good
	for _, x := range f {
		level = Worse(level, x.Level)
	}
	first := func(l Level) string {
		for _, x := range f {
			if x.Level == l {
				return x.Text
			}
		}
		return ""
	}
	graded := false
	for _, x := range f {
		graded = graded || x.Level != Info
	}
	if busy := firstIn(f, AreaServer); busy != "" {
		// The verdict is about the network; a busy server measured only
		// part of it.
		return Verdict{Level: Info, Summary: "Incomplete: " + busy}
	}
	switch {
	case !graded:
		return Verdict{Level: Info, Summary: "Nothing could be graded: no measurement succeeded or none was asked for."}
	case level == Bad:
		return Verdict{Level: Bad, Summary: "Calls will have problems on this network. " + first(Bad)}
	case level == Warn:
		return Verdict{Level: Warn, Summary: "Calls should work, with caveats. " + first(Warn)}
	}
	return Verdict{Level: Good, Summary: "Calls should work well on this network."}
}

// AreaServer is the area of findings about the rtclab server's own state
// (busy), which are not about the network diagnosed.
const AreaServer = "server"

func firstIn(f []Finding, area string) string {
	for _, x := range f {
		if x.Area == area {
			return x.Text
		}
	}
	return ""
}
