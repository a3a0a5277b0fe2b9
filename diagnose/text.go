package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes the result as indented JSON (schema Schema).
func WriteJSON(w io.Writer, res Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// WriteText writes the human report: the verdict first, then the findings
// in plain words, then the numbers.
func WriteText(w io.Writer, res Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "VERDICT: %s — %s\n", strings.ToUpper(string(res.Verdict.Level)), res.Verdict.Summary)
	fmt.Fprintf(&b, "(%s, %.1f s)\n\n", res.Target, res.DurationMs/1000)
	fmt.Fprintf(&b, "Findings\n")
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "  [%-4s] %s\n", f.Level, f.Text)
		if f.Fix != "" {
			fmt.Fprintf(&b, "         To fix: %s\n", f.Fix)
		}
	}
	if n := res.NAT; n != nil {
		fmt.Fprintf(&b, "\nSTUN and NAT (RFC 5780)\n")
		if n.Reachable {
			fmt.Fprintf(&b, "  server %s, RTT %.1f ms, local %s, mapped %s\n", n.Server, n.RTTMs, n.Local, n.Mapped)
		} else {
			fmt.Fprintf(&b, "  server %s: no answer\n", n.Server)
		}
		fmt.Fprintf(&b, "  mapping %s, filtering %s: %s\n", n.Mapping, n.Filtering, n.Words)
		if n.Reason != "" {
			fmt.Fprintf(&b, "  note: %s\n", n.Reason)
		}
	}
	if len(res.TURN) > 0 {
		fmt.Fprintf(&b, "\nTURN allocations\n")
		for _, t := range res.TURN {
			status := "ok, relayed " + t.Relayed
			if !t.OK {
				status = "FAILED (" + string(t.Failure) + "): " + t.Error
			}
			fmt.Fprintf(&b, "  %-4s %-45s %7.1f ms  %s\n", t.Transport, t.URL, t.Ms, status)
		}
	}
	if len(res.Paths) > 0 {
		fmt.Fprintf(&b, "\nICE paths to the test peer\n")
		for _, p := range res.Paths {
			if p.OK {
				fmt.Fprintf(&b, "  %-9s ok in %6.1f ms  local %s -> remote %s\n", p.Kind, p.Ms, p.Local, p.Remote)
			} else {
				fmt.Fprintf(&b, "  %-9s no: %s\n", p.Kind, p.Reason)
			}
		}
		if res.BestPath != "" {
			fmt.Fprintf(&b, "  best path: %s\n", res.BestPath)
		}
	}
	if len(res.Metrics) > 0 {
		fmt.Fprintf(&b, "\nMeasurements\n")
		for _, m := range res.Metrics {
			fmt.Fprintf(&b, "  %-8s %-9s %10s  %-4s  (%s)\n", m.Name, m.Path, valueWords(m), m.Level, m.Rule)
		}
	}
	for _, q := range res.Quality {
		fmt.Fprintf(&b, "  %s: %d/%d probes back, RTT p95 %.1f ms, E-model R %.0f, one-way delay %.0f ms\n",
			q.Path, q.Ping.Received, q.Ping.Sent, q.Ping.RTTP95Ms, q.Audio.R, q.Audio.DelayMs)
	}
	if v := res.Video; v != nil {
		fmt.Fprintf(&b, "  video: send %s, receive %s\n", v.Send, v.Receive)
	}
	if bw := res.Bandwidth; bw != nil && bw.WindowCapKbps > 0 {
		fmt.Fprintf(&b, "  (the data channel carries at most about %s on this path: one 128 KiB window per RTT)\n", kbpsWords(bw.WindowCapKbps))
	}
	fmt.Fprintf(&b, "\nLocal addresses ICE would expose\n")
	if len(res.Local.Addresses) == 0 {
		fmt.Fprintf(&b, "  none found\n")
	}
	for _, a := range res.Local.Addresses {
		fmt.Fprintf(&b, "  %-40s %-10s %s\n", a.IP, a.Scope, a.Interface)
	}
	if len(res.Local.Exposure) > 0 {
		fmt.Fprintf(&b, "\nWhat the other party learns of this machine's addresses\n")
		for _, e := range res.Local.Exposure {
			fmt.Fprintf(&b, "  %s:\n    %s\n", e.Words(), strings.Join(e.Addresses, "\n    "))
		}
	}
	if len(res.Encryption) > 0 {
		fmt.Fprintf(&b, "\nMedia through each server\n")
		for _, e := range res.Encryption {
			fmt.Fprintf(&b, "  %-9s %-8s %s (%s)\n    %s\n", e.Path, e.Role, e.Server, e.Address, e.Words())
		}
	}
	if len(res.Skipped) > 0 {
		fmt.Fprintf(&b, "\nNot measured\n")
		for _, s := range res.Skipped {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
