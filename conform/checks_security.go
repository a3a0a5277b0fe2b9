package conform

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/pion/stun/v3"
)

// forbiddenPeer is an address a TURN server must not relay to unless the
// operator allowed it. via is the loopback address a bypass would reach
// (where the suite listens), empty when a bypass cannot be observed here.
type forbiddenPeer struct {
	name, ip, via string
}

// forbiddenPeers are the addresses of the security checks: special-purpose
// ranges of RFC 6890 and the IANA registries, and the encodings that
// smuggled loopback past earlier filters (CVE-2020-26262: 0.0.0.0 and
// [::]; IPv4-mapped ::ffff:127.0.0.1).
var forbiddenPeers = []forbiddenPeer{
	{"loopback", "127.0.0.1", "127.0.0.1"},
	{"loopback-other", "127.255.255.254", ""},
	{"ipv6-loopback", "::1", "::1"},
	{"unspecified", "0.0.0.0", "127.0.0.1"},
	{"ipv6-unspecified", "::", "::1"},
	{"ipv4-mapped-loopback", "::ffff:127.0.0.1", "127.0.0.1"},
	{"ipv4-mapped-unspecified", "::ffff:0.0.0.0", "127.0.0.1"},
	{"ipv4-mapped-private", "::ffff:10.0.0.1", ""},
	{"ipv4-compatible-loopback", "::127.0.0.1", "127.0.0.1"},
	{"nat64-loopback", "64:ff9b::7f00:1", "127.0.0.1"},
	{"rfc1918-10", "10.0.0.1", ""},
	{"rfc1918-172", "172.16.0.1", ""},
	{"rfc1918-192", "192.168.0.1", ""},
	{"rfc4193", "fd00::1", ""},
	{"link-local", "169.254.1.1", ""},
	{"cloud-metadata", "169.254.169.254", ""},
	{"ipv6-link-local", "fe80::1", ""},
	{"this-network", "0.1.2.3", ""},
	{"cgnat", "100.64.0.1", ""},
	{"ietf-protocol", "192.0.0.1", ""},
	{"benchmarking", "198.18.0.1", ""},
	{"reserved", "240.0.0.1", ""},
	{"broadcast", "255.255.255.255", ""},
	{"multicast", "224.0.0.1", ""},
	{"ipv6-multicast", "ff02::1", ""},
	{"documentation-ipv6", "2001:db8::1", ""},
}

func securityChecks() []Check {
	sec := []string{"security", "turn"}
	checks := []Check{
		// Testname: security-open-relay
		// Description: The server MUST NOT allocate a relay to a client
		// without credentials.
		{
			ID: "security-open-relay", Section: "RFC 8656 §5, §21.1", Level: Must, Labels: sec, TURN: true,
			Summary: "no allocation without credentials",
			Run:     checkOpenRelay,
		},
		// Testname: security-server-ports
		// Description: The relay MUST NOT reach the server's own listening
		// address: CreatePermission for it is refused with 403, or a STUN
		// request relayed to the server's port is never answered back
		// through the relay.
		{
			ID: "security-server-ports", Section: "RFC 8656 §21.3", Level: Must, Labels: sec, TURN: true,
			Summary: "relay cannot reach the server's own ports",
			Run:     checkServerPorts,
		},
		// Testname: security-amplification
		// Description: An unauthenticated request (Binding, Allocate) SHOULD
		// NOT draw a response more than 5 times its size, which would make
		// the server a reflector for spoofed sources.
		{
			ID: "security-amplification", Section: "RFC 8489 §16.1, RFC 8656 §21.1", Level: Should, Labels: []string{"security", "stun"},
			Summary: "response/request size ratio of unauthenticated requests <= 5",
			Run:     checkAmplification,
		},
		// Testname: security-auth-rate-limit
		// Description: The server SHOULD limit the rate of failed
		// authentications from one source: of 50 Allocate requests with a
		// wrong password sent at once, at most half are answered (a loss
		// or two on a busy loopback is not rate limiting).
		{
			ID: "security-auth-rate-limit", Section: "RFC 8489 §16.1, RFC 8656 §21.1", Level: Should, Labels: sec, TURN: true,
			Summary: "failed authentications are rate limited",
			Run:     checkAuthRateLimit,
		},
	}
	// Testname: security-peer-NAME (one per forbiddenPeers entry)
	// Description: CreatePermission and ChannelBind for a forbidden peer
	// address (loopback, private, link-local, unspecified, IPv4-mapped,
	// NAT64, CGNAT, reserved, broadcast, multicast, ...) MUST be refused
	// with 403 (443 for an IPv6 peer on an IPv4 relay) unless the operator
	// allowed it, and a datagram sent to it MUST NOT reach the suite's
	// loopback listener.
	for _, fp := range forbiddenPeers {
		checks = append(checks, Check{
			ID: "security-peer-" + fp.name, Section: "RFC 8656 §10.2, §21.3", Level: Must, Labels: sec, TURN: true,
			Summary: "relay to " + fp.ip + " refused",
			Run:     func(ctx context.Context, e *env) Outcome { return checkForbiddenPeer(ctx, e, fp) },
		})
	}
	return checks
}

func checkOpenRelay(ctx context.Context, e *env) Outcome {
	_, res, err := e.unauthAllocate(ctx)
	if err != nil {
		return broken(err)
	}
	if res == nil {
		return pass("no answer without credentials")
	}
	if res.Type.Class == stun.ClassSuccessResponse {
		return fail("allocated without credentials: open relay")
	}
	return pass("refused: %s", describe(res))
}

// refusal says whether res refuses a peer as RFC 8656 asks: 403, or 443
// when the peer's family differs from the relay's.
func refusal(res *stun.Message, familyMismatch bool) (bool, string) {
	if res.Type.Class == stun.ClassSuccessResponse {
		return false, "granted"
	}
	code, _ := errorCode(res)
	switch {
	case code == 403:
		return true, "403"
	case code == 443 && familyMismatch:
		return true, "443"
	case code == 0:
		return false, "refused without ERROR-CODE"
	}
	return false, describe(res)
}

func checkForbiddenPeer(ctx context.Context, e *env, fp forbiddenPeer) Outcome {
	ip := net.ParseIP(fp.ip)
	if a, ok := netip.AddrFromSlice(ip); ok {
		for _, p := range e.t.Allowed {
			if p.Contains(a.Unmap()) || p.Contains(a) {
				return skip("%s is in an allowed range (%s)", fp.ip, p)
			}
		}
	}
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	v6 := strings.Contains(fp.ip, ":") // mapped forms stay in the IPv6 family
	mismatch := v6 != (s.relay.IP.To4() == nil)
	// The listener a bypass would reach.
	var lis *peer
	port := 9
	if fp.via != "" {
		if lis, err = e.listen(net.ParseIP(fp.via)); err != nil {
			lis = nil // no IPv6 loopback here: observe by the answers only
		} else {
			port = lis.addr().Port
		}
	}
	target := &net.UDPAddr{IP: ip, Port: port}
	xa := xorAddr{t: stun.AttrXORPeerAddress, ip: ip, port: port, v6: v6}
	var bad []string
	res, err := s.request(ctx, stun.MethodCreatePermission, xa)
	if err != nil {
		return fail("CreatePermission: %v", err)
	}
	okPerm, permSaid := refusal(res, mismatch)
	if !okPerm {
		bad = append(bad, "CreatePermission "+permSaid)
	}
	res, err = s.request(ctx, stun.MethodChannelBind, channelNumber(0x4000), xa)
	if err != nil {
		return fail("ChannelBind: %v", err)
	}
	okBind, bindSaid := refusal(res, mismatch)
	if !okBind {
		bad = append(bad, "ChannelBind "+bindSaid)
	}
	if lis != nil {
		out := payload(fp.name)
		_ = s.send(target, out, v6)
		_ = s.channelData(0x4000, out)
		e.flush(ctx, s)
		// The marker of flush can overtake the datagram on loopback (each
		// CPU has its own backlog): allow it a little longer.
		if from, ok := lis.wait(out, 50*time.Millisecond); ok {
			return fail("BYPASS: a datagram relayed to %s arrived at the suite's listener %s (from %s); %v", fp.ip, lis.addr(), from, bad)
		}
	}
	if len(bad) > 0 {
		return fail("%v", bad)
	}
	observed := "nothing arrived on " + fp.via
	if lis == nil {
		observed = "answers only"
	}
	return pass("CreatePermission %s, ChannelBind %s; %s", permSaid, bindSaid, observed)
}

// flush waits until datagrams relayed before now have been delivered: a
// marker through the same allocation to a permitted peer, or a pause of
// one transaction timeout without peers.
func (e *env) flush(ctx context.Context, s *session) {
	p, err := e.peerOn(0)
	if err == nil && s.mustPermit(ctx, p.addr()) == nil {
		marker := payload("flush")
		if s.send(p.addr(), marker, p.addr().IP.To4() == nil) == nil {
			if _, ok := p.wait(marker, e.relayWait()); ok {
				return
			}
		}
	}
	time.Sleep(e.relayWait())
}

func checkServerPorts(ctx context.Context, e *env) Outcome {
	host, portStr, err := net.SplitHostPort(e.t.Addr)
	if err != nil {
		return broken(err)
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return broken(fmt.Errorf("resolve %s: %v", host, err))
	}
	srv, err := net.ResolveUDPAddr("udp", net.JoinHostPort(ips[0].String(), portStr))
	if err != nil {
		return broken(err)
	}
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	res, err := s.permit(ctx, srv.IP, srv.Port)
	if err != nil {
		return fail("CreatePermission: %v", err)
	}
	if ok, said := refusal(res, false); ok {
		return pass("CreatePermission for the server's address %s: %s", srv.IP, said)
	}
	probe, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return broken(err)
	}
	_ = s.send(srv, probe.Raw, srv.IP.To4() == nil)
	_, err = s.c.waitFor(e.relayWait(), func(b []byte) bool {
		m := &stun.Message{Raw: b}
		if m.Decode() != nil || m.Type != stun.NewType(stun.MethodData, stun.ClassIndication) {
			return false
		}
		d, err := m.Get(stun.AttrData)
		r := &stun.Message{Raw: d}
		return err == nil && r.Decode() == nil && r.TransactionID == probe.TransactionID
	})
	if err == nil {
		return fail("the relay carried a Binding request to the server's own %s and its answer back", srv)
	}
	return pass("CreatePermission for the server's own address %s granted, but no answer came back through the relay", srv.IP)
}

func checkAmplification(ctx context.Context, e *env) Outcome {
	worst, what := 0.0, ""
	req, _ := stun.Build(stun.TransactionID, stun.BindingRequest)
	res, _, err := e.binding(ctx)
	if err != nil {
		return broken(err)
	}
	if res != nil {
		worst, what = float64(len(res.Raw))/float64(len(req.Raw)), fmt.Sprintf("Binding %d -> %d bytes", len(req.Raw), len(res.Raw))
	}
	if e.t.TURN {
		areq, ares, err := e.unauthAllocate(ctx)
		if err != nil {
			return broken(err)
		}
		if ares != nil {
			if r := float64(len(ares.Raw)) / float64(len(areq.Raw)); r > worst {
				worst, what = r, fmt.Sprintf("Allocate %d -> %d bytes", len(areq.Raw), len(ares.Raw))
			}
		}
	}
	if what == "" {
		return broken(fmt.Errorf("no answer to measure"))
	}
	if worst > 5 {
		return fail("ratio %.1f (%s)", worst, what)
	}
	return pass("worst ratio %.1f (%s)", worst, what)
}

func checkAuthRateLimit(ctx context.Context, e *env) Outcome {
	const n = 50
	e.wrongPassword = true
	s, err := e.newSession(ctx)
	if err != nil {
		return broken(err)
	}
	if _, err := s.allocate(ctx); err != nil { // learn realm and nonce
		return broken(err)
	}
	ids := map[[stun.TransactionIDSize]byte]bool{}
	for range n {
		req, err := s.build(stun.MethodAllocate, stun.ClassRequest, requestedTransport(protoUDP))
		if err != nil {
			return broken(err)
		}
		ids[req.TransactionID] = true
		if err := s.c.write(req.Raw); err != nil {
			return broken(err)
		}
	}
	answered := 0
	for {
		_, err := s.c.waitFor(e.relayWait(), func(b []byte) bool {
			m := &stun.Message{Raw: b}
			if m.Decode() == nil && ids[m.TransactionID] {
				delete(ids, m.TransactionID)
				return true
			}
			return false
		})
		if err != nil {
			break
		}
		answered++
	}
	if answered > n/2 {
		return fail("%d of %d failed authentications from one source answered at once", answered, n)
	}
	return pass("%d of %d failed authentications answered", answered, n)
}
