package sdpfrag

import (
	"errors"
	"strings"
)

// ErrNoICE is an SDP without ICE credentials.
var ErrNoICE = errors.New("sdpfrag: the SDP has no ice-ufrag and ice-pwd")

// FromSDP returns the ICE part of a whole SDP as a fragment: its
// credentials, ice-options and BUNDLE group, and the first m= section
// with its mid and candidates. Under max-bundle only that section (the
// offerer-tagged one) gathers candidates (RFC 9725 section 4.3.1, RFC
// 9429), so it is the one a restart's fragment carries.
func FromSDP(sdp string) (Frag, error) {
	var f Frag
	var m *Media
	sections := 0
	for _, l := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(l, "m=") {
			sections++
			if sections == 1 {
				f.Media = []Media{{MLine: l[2:]}}
				m = &f.Media[0]
			} else {
				m = nil
			}
			continue
		}
		name, val, _ := strings.Cut(strings.TrimPrefix(l, "a="), ":")
		if !strings.HasPrefix(l, "a=") {
			continue
		}
		switch name {
		case "ice-ufrag":
			if f.Ufrag == "" {
				f.Ufrag = val
			}
		case "ice-pwd":
			if f.Pwd == "" {
				f.Pwd = val
			}
		case "ice-options":
			if sections == 0 {
				f.Options = val
			}
		case "group":
			if sections == 0 && strings.HasPrefix(val, "BUNDLE") {
				f.Group = val
			}
		case "mid":
			if m != nil {
				m.Mid = val
			}
		case "candidate":
			if m != nil {
				m.Candidates = append(m.Candidates, val)
			}
		case "end-of-candidates":
			if m != nil {
				m.End = true
			}
		}
	}
	if f.Ufrag == "" || f.Pwd == "" {
		return f, ErrNoICE
	}
	return f, nil
}

// WithCredentials returns sdp with every ice-ufrag and ice-pwd set to
// f's and its candidates and end-of-candidates removed: the offer or
// answer a restart's fragment stands for (RFC 9725 section 4.3.1: the
// non-ICE parts of the session still apply), whose candidates are then
// added one by one.
func WithCredentials(sdp string, f Frag) string {
	lines := strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n")
	out := lines[:0]
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = "a=ice-ufrag:" + f.Ufrag
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = "a=ice-pwd:" + f.Pwd
		case strings.HasPrefix(l, "a=candidate:"), l == "a=end-of-candidates":
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\r\n")
}
