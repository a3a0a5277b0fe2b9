package sdpfrag

import (
	"errors"
	"fmt"
	"strings"
)

// MediaType is the fragment's content type (RFC 8840 section 9).
const MediaType = "application/trickle-ice-sdpfrag"

// MaxSize bounds a fragment: a few hundred candidates.
const MaxSize = 64 << 10

// Frag is one SDP fragment.
type Frag struct {
	// Ufrag and Pwd are the ICE credentials (RFC 8839 section 5.4), ""
	// when the fragment leaves them out. A WHIP client puts them at
	// session level; a media-level pair must agree with every other.
	Ufrag, Pwd string
	// Options is the ice-options value, "" when absent.
	Options string
	// Group is the a=group value, e.g. "BUNDLE 0 1", "" when absent.
	Group string
	// Media are the fragment's m= sections in order.
	Media []Media
}

// Media is one m= section of a fragment.
type Media struct {
	// MLine is the m= line's value, e.g. "audio 9 UDP/TLS/RTP/SAVPF 111".
	MLine string
	// Mid identifies the m= section (RFC 8843); RFC 8840 section 9
	// requires it.
	Mid string
	// Candidates are a=candidate values (RFC 8839 section 5.1), without
	// the "candidate:" prefix's "a=".
	Candidates []string
	// End is set by a=end-of-candidates (RFC 8840 section 8.2).
	End bool
}

// ErrEmpty is a fragment without a line.
var ErrEmpty = errors.New("sdpfrag: empty fragment")

// Parse reads a fragment. Lines end in CRLF or LF (RFC 8840 section 9
// follows SDP's CRLF; a lone LF is accepted as SDP parsers do).
func Parse(b []byte) (Frag, error) {
	var f Frag
	if len(b) > MaxSize {
		return f, fmt.Errorf("sdpfrag: %d bytes, more than %d", len(b), MaxSize)
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	seen := 0
	// setCred sets a session-wide value that may be repeated in m=
	// sections but not changed.
	setCred := func(dst *string, v, what string, n int) error {
		if v == "" {
			return fmt.Errorf("sdpfrag: line %d: empty %s", n, what)
		}
		if *dst != "" && *dst != v {
			return fmt.Errorf("sdpfrag: line %d: %s %q differs from %q (one ICE session per fragment)", n, what, v, *dst)
		}
		*dst = v
		return nil
	}
	for i, l := range lines {
		n := i + 1
		if l == "" {
			continue
		}
		seen++
		if len(l) < 2 || l[1] != '=' {
			return f, fmt.Errorf("sdpfrag: line %d: %q is not an SDP line (type=value)", n, trunc(l))
		}
		var m *Media
		if len(f.Media) > 0 {
			m = &f.Media[len(f.Media)-1]
		}
		switch l[0] {
		case 'm':
			v := l[2:]
			if len(strings.Fields(v)) < 3 {
				return f, fmt.Errorf("sdpfrag: line %d: m=%q wants media, port and protocol", n, trunc(v))
			}
			f.Media = append(f.Media, Media{MLine: v})
			continue
		case 'a':
		default:
			return f, fmt.Errorf("sdpfrag: line %d: %q: a fragment holds only a= and m= lines (RFC 8840 section 9)", n, trunc(l))
		}
		name, val, _ := strings.Cut(l[2:], ":")
		var err error
		switch name {
		case "ice-ufrag":
			err = setCred(&f.Ufrag, val, "ice-ufrag", n)
		case "ice-pwd":
			err = setCred(&f.Pwd, val, "ice-pwd", n)
		case "ice-options":
			err = setCred(&f.Options, val, "ice-options", n)
		case "group":
			if val == "" {
				err = fmt.Errorf("sdpfrag: line %d: empty group", n)
			}
			if m != nil {
				err = fmt.Errorf("sdpfrag: line %d: a=group inside an m= section", n)
			}
			f.Group = val
		case "mid":
			switch {
			case m == nil:
				err = fmt.Errorf("sdpfrag: line %d: a=mid before any m= line", n)
			case val == "" || strings.ContainsAny(val, " \t"):
				err = fmt.Errorf("sdpfrag: line %d: mid %q is not a token", n, trunc(val))
			case m.Mid != "":
				err = fmt.Errorf("sdpfrag: line %d: a second a=mid in one m= section", n)
			default:
				m.Mid = val
			}
		case "candidate":
			switch {
			case m == nil:
				err = fmt.Errorf("sdpfrag: line %d: a=candidate before any m= line (a candidate belongs to an m= section, RFC 8840 section 9)", n)
			case len(strings.Fields(val)) < 8:
				err = fmt.Errorf("sdpfrag: line %d: candidate %q wants foundation, component, transport, priority, address, port, typ and type (RFC 8839 section 5.1)", n, trunc(val))
			default:
				m.Candidates = append(m.Candidates, val)
			}
		case "end-of-candidates":
			if m == nil {
				err = fmt.Errorf("sdpfrag: line %d: a=end-of-candidates before any m= line", n)
			} else {
				m.End = true
			}
		default:
			err = fmt.Errorf("sdpfrag: line %d: a=%s is not an ICE attribute a fragment may hold", n, trunc(name))
		}
		if err != nil {
			return f, err
		}
	}
	if seen == 0 {
		return f, ErrEmpty
	}
	for i, m := range f.Media {
		if m.Mid == "" {
			return f, fmt.Errorf("sdpfrag: m= section %d (%s) has no a=mid (RFC 8840 section 9 requires it)", i+1, trunc(m.MLine))
		}
	}
	return f, nil
}

// Marshal writes f with CRLF line ends.
func (f Frag) Marshal() string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\r\n") }
	if f.Options != "" {
		line("a=ice-options:" + f.Options)
	}
	if f.Group != "" {
		line("a=group:" + f.Group)
	}
	if f.Ufrag != "" {
		line("a=ice-ufrag:" + f.Ufrag)
	}
	if f.Pwd != "" {
		line("a=ice-pwd:" + f.Pwd)
	}
	for _, m := range f.Media {
		line("m=" + m.MLine)
		line("a=mid:" + m.Mid)
		for _, c := range m.Candidates {
			line("a=candidate:" + c)
		}
		if m.End {
			line("a=end-of-candidates")
		}
	}
	return b.String()
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
