package diagnose

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// fromProxies makes h see the client behind trusted reverse proxies: when
// a request's peer is in trusted, its RemoteAddr becomes the address
// clientAddr finds in the Forwarded or X-Forwarded-For headers, so that
// the per-address limits, the test peer's slots, the history and the
// address shown to the customer all use the client's, not the proxy's.
// With no trusted proxies (the default) the headers are ignored: anyone
// can write them.
func fromProxies(h http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer := remoteIP(r)
		if !isTrusted(peer, trusted) {
			h.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.RemoteAddr = netip.AddrPortFrom(clientAddr(peer, r.Header, trusted), 0).String()
		// The nearest proxy also says which scheme and host the client
		// asked for: the links serve makes (invites) and the console's
		// same-origin check use them. A scheme is left in URL.Scheme,
		// empty on a server's request otherwise.
		proto, host := forwardedOrigin(r.Header)
		if host != "" {
			r2.Host = host
		}
		if proto != "" {
			r2.URL.Scheme = proto
		}
		h.ServeHTTP(w, r2)
	})
}

// forwardedOrigin is the scheme ("http" or "https") and host the nearest
// proxy recorded — Forwarded's last element's proto= and host= (RFC 7239
// sections 5.3 and 5.4), else X-Forwarded-Proto and X-Forwarded-Host's
// last values — each empty when absent or not plausible.
func forwardedOrigin(h http.Header) (proto, host string) {
	if f := h.Values("Forwarded"); len(f) > 0 {
		elems := splitQuoted(strings.Join(f, ","), ',')
		for _, pair := range splitQuoted(elems[len(elems)-1], ';') {
			name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok {
				continue
			}
			switch v := unquote(strings.TrimSpace(value)); strings.ToLower(strings.TrimSpace(name)) {
			case "proto":
				proto = v
			case "host":
				host = v
			}
		}
	} else {
		proto, host = lastValue(h, "X-Forwarded-Proto"), lastValue(h, "X-Forwarded-Host")
	}
	proto = strings.ToLower(proto)
	if proto != "http" && proto != "https" {
		proto = ""
	}
	if !plausibleHost(host) {
		host = ""
	}
	return proto, host
}

// lastValue is the last comma-separated value of a header's lines.
func lastValue(h http.Header, name string) string {
	vs := h.Values(name)
	if len(vs) == 0 {
		return ""
	}
	parts := strings.Split(vs[len(vs)-1], ",")
	return strings.TrimSpace(parts[len(parts)-1])
}

// plausibleHost accepts a host or host:port (RFC 9110 section 7.2's
// Host): a name of letters, digits, dots and hyphens, or an address.
func plausibleHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	name := host
	if h, port, err := net.SplitHostPort(host); err == nil {
		if _, err := netip.ParseAddrPort("0.0.0.0:" + port); err != nil {
			return false
		}
		name = h
	}
	if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		return true
	}
	for _, c := range name {
		if !(c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return name != ""
}

// clientAddr is the client's address of a request that came from peer:
// peer itself unless peer is a trusted proxy; then, walking the chain of
// hops the proxies recorded from the right (the nearest) to the left, the
// first address that is not a trusted proxy — the right-most untrusted
// hop. Everything left of it was written by a host we do not trust and
// may be forged. Forwarded (RFC 7239) wins over X-Forwarded-For when
// both are present. A hop the chain names as "unknown" or by an obfuscated
// identifier (RFC 7239 section 6), or that does not parse, ends the walk
// at the last address known (the proxy that wrote it); a chain of trusted
// proxies only gives its left-most.
func clientAddr(peer netip.Addr, h http.Header, trusted []netip.Prefix) netip.Addr {
	if !isTrusted(peer, trusted) {
		return peer
	}
	var hops []string
	if f := h.Values("Forwarded"); len(f) > 0 {
		hops = forwardedFor(strings.Join(f, ","))
	} else {
		for _, v := range h.Values("X-Forwarded-For") {
			for _, hop := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(hop))
			}
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		ip, ok := hopAddr(hops[i])
		if !ok {
			return client
		}
		client = ip
		if !isTrusted(ip, trusted) {
			return ip
		}
	}
	return client
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forwardedFor is the for= value of each element of a Forwarded header
// (RFC 7239 section 4: elements separated by commas, pairs by semicolons,
// values tokens or quoted strings), "" for an element without one.
func forwardedFor(v string) []string {
	var out []string
	for _, elem := range splitQuoted(v, ',') {
		if strings.TrimSpace(elem) == "" {
			continue
		}
		val := ""
		for _, pair := range splitQuoted(elem, ';') {
			name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if ok && strings.EqualFold(strings.TrimSpace(name), "for") {
				val = unquote(strings.TrimSpace(value))
			}
		}
		out = append(out, val)
	}
	return out
}

// splitQuoted splits s at sep outside double-quoted strings.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote removes a quoted-string's quotes and escapes (RFC 9110 section
// 5.6.4); a token is returned as it is.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' && i+1 < len(v)-1 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// hopAddr reads one hop: an IPv4 or IPv6 address, bracketed or not, with
// or without a port (RFC 7239 section 6's node; X-Forwarded-For's bare
// address). "unknown" and obfuscated names ("_hidden") are not addresses.
func hopAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}
