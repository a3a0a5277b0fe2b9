package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MDNSMode is how a server treats ICE candidates whose address is an
// mDNS .local name (draft-ietf-rtcweb-mdns-ice-candidates). When browsers
// began sending them, servers that expected an IP address broke:
// FreeSWITCH, Kurento, Asterisk and others refused or dropped them. The
// modes let a scenario play such a server.
type MDNSMode string

// Modes.
const (
	// MDNSRelay relays .local candidates untouched (the default).
	MDNSRelay MDNSMode = ""
	// MDNSStrip drops them: trickled candidates are not relayed, and
	// their lines are removed from offers and answers.
	MDNSStrip MDNSMode = "strip"
	// MDNSReject refuses an offer, answer or candidate that carries one:
	// nothing of it is relayed and its sender gets an error message.
	MDNSReject MDNSMode = "reject"
)

// ErrMDNSCandidate is the refusal of MDNSReject.
var ErrMDNSCandidate = errors.New("refused: a .local (mDNS) ICE candidate; this server takes IP addresses only")

// screen applies mode to a message about to be relayed: the message to
// relay, false when nothing is relayed, and the error its sender gets.
func (mode MDNSMode) screen(m Message) (Message, bool, error) {
	if mode == MDNSRelay {
		return m, true, nil
	}
	switch m.Type {
	case TypeCandidate:
		var c struct {
			Candidate string `json:"candidate"`
		}
		if json.Unmarshal(m.Candidate, &c) != nil || !LocalCandidate(c.Candidate) {
			return m, true, nil
		}
		if mode == MDNSReject {
			return m, false, fmt.Errorf("candidate to %s: %w", m.To, ErrMDNSCandidate)
		}
		return m, false, nil
	case TypeOffer, TypeAnswer:
		sdp, n := StripLocal(m.SDP)
		if n == 0 {
			return m, true, nil
		}
		if mode == MDNSReject {
			return m, false, fmt.Errorf("%s to %s: %d candidates: %w", m.Type, m.To, n, ErrMDNSCandidate)
		}
		m.SDP = sdp
	}
	return m, true, nil
}

// LocalCandidate reports whether an ICE candidate attribute ("candidate:"
// foundation component transport priority connection-address port typ
// ..., RFC 8839 section 5.1; with or without "a=") has a .local name as
// its connection address (draft section 3.2, step 1: ends in ".local"
// and holds no other dot).
func LocalCandidate(c string) bool {
	c = strings.TrimPrefix(strings.TrimSpace(c), "a=")
	if !strings.HasPrefix(c, "candidate:") {
		return false
	}
	f := strings.Fields(c)
	if len(f) < 6 {
		return false
	}
	addr := strings.ToLower(f[4])
	return strings.HasSuffix(addr, ".local") && strings.Count(addr, ".") == 1
}

// StripLocal removes the candidate lines (a=candidate:) with .local addresses from a
// session description, keeping every other line and the description's
// line endings; it returns how many it removed.
func StripLocal(sdp string) (string, int) {
	if !strings.Contains(sdp, "a=candidate:") {
		return sdp, 0
	}
	var b strings.Builder
	n := 0
	for rest := sdp; rest != ""; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = ""
		}
		if strings.HasPrefix(line, "a=candidate:") && LocalCandidate(strings.TrimRight(line, "\r\n")) {
			n++
			continue
		}
		b.WriteString(line)
	}
	return b.String(), n
}
