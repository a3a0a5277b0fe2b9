package conform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pion/stun/v3"
)

func turnChecks() []Check {
	turn := []string{"turn"}
	return []Check{
		// Testname: turn-unauthenticated
		// Description: An Allocate request without MESSAGE-INTEGRITY MUST be
		// answered with 401 (Unauthenticated) carrying REALM and NONCE.
		{
			ID: "turn-unauthenticated", Section: "RFC 8489 §9.2.4, RFC 8656 §7.2", Level: Must, Labels: turn, TURN: true,
			Summary: "Allocate without credentials -> 401 with REALM and NONCE",
			Run:     checkUnauthenticated,
		},
		// Testname: turn-wrong-credentials
		// Description: An Allocate request with a wrong password MUST be
		// answered with 401 and MUST NOT create an allocation.
		{
			ID: "turn-wrong-credentials", Section: "RFC 8489 §9.2.4", Level: Must, Labels: turn, TURN: true,
			Summary: "wrong password -> 401",
			Run:     checkWrongCredentials,
		},
		// Testname: turn-stale-nonce
		// Description: A request with valid credentials but a NONCE the
		// server did not issue MUST be answered with 438 (Stale Nonce)
		// carrying a new NONCE.
		{
			ID: "turn-stale-nonce", Section: "RFC 8489 §9.2.4", Level: Must, Labels: turn, TURN: true,
			Summary: "unknown NONCE -> 438 with a new NONCE",
			Run:     checkStaleNonce,
		},
		// Testname: turn-allocate
		// Description: An authenticated Allocate request MUST be answered
		// with a success response carrying XOR-RELAYED-ADDRESS, LIFETIME,
		// XOR-MAPPED-ADDRESS and a valid MESSAGE-INTEGRITY.
		{
			ID: "turn-allocate", Section: "RFC 8656 §7.2, §7.3", Level: Must, Labels: turn, TURN: true,
			Summary: "Allocate succeeds with relayed address and lifetime",
			Run:     checkAllocate,
		},
		// Testname: turn-allocation-mismatch
		// Description: A second Allocate request (a new transaction) on the
		// 5-tuple of an existing allocation MUST be answered with 437
		// (Allocation Mismatch).
		{
			ID: "turn-allocation-mismatch", Section: "RFC 8656 §7.2", Level: Must, Labels: turn, TURN: true,
			Summary: "second Allocate on one 5-tuple -> 437",
			Run:     checkAllocationMismatch,
		},
		// Testname: turn-error-reason
		// Description: Error responses SHOULD carry a reason phrase: the 401
		// and 437 answers are checked for a non-empty one.
		{
			ID: "turn-error-reason", Section: "RFC 8489 §14.8", Level: Should, Labels: turn, TURN: true,
			Summary: "error responses carry a reason phrase",
			Run:     checkErrorReason,
		},
		// Testname: turn-refresh
		// Description: A Refresh request with a non-zero LIFETIME MUST be
		// answered with success and the granted LIFETIME.
		{
			ID: "turn-refresh", Section: "RFC 8656 §8.2", Level: Must, Labels: turn, TURN: true,
			Summary: "Refresh extends the allocation",
			Run:     checkRefresh,
		},
		// Testname: turn-refresh-zero
		// Description: A Refresh request with LIFETIME 0 MUST delete the
		// allocation: a later Refresh on that 5-tuple MUST get 437.
		{
			ID: "turn-refresh-zero", Section: "RFC 8656 §8.2", Level: Must, Labels: turn, TURN: true,
			Summary: "Refresh with LIFETIME 0 deletes; then 437",
			Run:     checkRefreshZero,
		},
		// Testname: turn-send-data
		// Description: With a permission for a peer, a Send indication MUST
		// be relayed to it as a UDP datagram, and a datagram from the peer
		// MUST reach the client as a Data indication naming the peer in
		// XOR-PEER-ADDRESS.
		{
			ID: "turn-send-data", Section: "RFC 8656 §11.2, §11.3", Level: Must, Labels: turn, TURN: true,
			Summary: "Send/Data indications relay both ways",
			Run:     checkSendData,
		},
		// Testname: turn-permission-ip-only
		// Description: Permissions MUST be keyed by the peer's IP address
		// only: after CreatePermission for one port, datagrams from another
		// port of the same IP address MUST be relayed to the client.
		{
			ID: "turn-permission-ip-only", Section: "RFC 8656 §9", Level: Must, Labels: turn, TURN: true,
			Summary: "permission covers every port of the peer's IP",
			Run:     checkPermissionIPOnly,
		},
		// Testname: turn-no-permission
		// Description: Datagrams from a peer IP address with no permission
		// MUST NOT be relayed to the client.
		{
			ID: "turn-no-permission", Section: "RFC 8656 §9, §11.3", Level: Must, Labels: turn, TURN: true,
			Summary: "datagrams from peers without permission dropped",
			Run:     checkNoPermission,
		},
		// Testname: turn-channel-bind
		// Description: ChannelBind with a number in 0x4000-0x4FFF MUST
		// succeed, and ChannelData MUST then be relayed both ways.
		{
			ID: "turn-channel-bind", Section: "RFC 8656 §12.2, §12.4", Level: Must, Labels: turn, TURN: true,
			Summary: "ChannelBind and ChannelData both ways",
			Run:     checkChannelBind,
		},
		// Testname: turn-channel-range
		// Description: ChannelBind with a channel number outside
		// 0x4000-0x7FFF (0x3FFF, 0x8000), outside the range of every TURN
		// RFC, MUST be answered with 400.
		{
			ID: "turn-channel-range", Section: "RFC 8656 §12, §12.2; RFC 5766 §11", Level: Must, Labels: turn, TURN: true,
			Summary: "channel numbers outside 0x4000-0x7FFF -> 400",
			Run:     checkChannelRange,
		},
		// Testname: turn-channel-range-rfc8656
		// Description: ChannelBind with a channel number in 0x5000-0x7FFF
		// (0x5000) SHOULD be answered with 400: RFC 8656 narrowed the range
		// to 0x4000-0x4FFF (a MUST there), but RFC 5766 clients still use
		// up to 0x7FFF, so a server may keep serving them; graded SHOULD
		// for that reason.
		{
			ID: "turn-channel-range-rfc8656", Section: "RFC 8656 §12, §12.2", Level: Should, Labels: turn, TURN: true,
			Summary: "channel numbers 0x5000-0x7FFF -> 400 (RFC 8656 range)",
			Run:     checkChannelRange8656,
		},
		// Testname: turn-channel-rebind
		// Description: A channel bound to one peer transport address MUST
		// NOT be bound to another, nor that address to another channel (400);
		// rebinding the same pair MUST succeed (it refreshes the binding).
		{
			ID: "turn-channel-rebind", Section: "RFC 8656 §12.2", Level: Must, Labels: turn, TURN: true,
			Summary: "channel rebinding rules",
			Run:     checkChannelRebind,
		},
		// Testname: turn-requested-family
		// Description: An Allocate request with REQUESTED-ADDRESS-FAMILY
		// IPv6 MUST either get an IPv6 relayed address or 440 (Address
		// Family not Supported).
		{
			ID: "turn-requested-family", Section: "RFC 8656 §7.2", Level: Must, Labels: turn, TURN: true,
			Summary: "REQUESTED-ADDRESS-FAMILY IPv6 -> IPv6 relay or 440",
			Run:     checkRequestedFamily,
		},
		// Testname: turn-peer-family-mismatch
		// Description: CreatePermission for an IPv6 peer (2001:db8::1) on an
		// IPv4 allocation MUST be answered with 443 (Peer Address Family
		// Mismatch).
		{
			ID: "turn-peer-family-mismatch", Section: "RFC 8656 §10.2", Level: Must, Labels: turn, TURN: true,
			Summary: "IPv6 peer on an IPv4 relay -> 443",
			Run:     checkPeerFamilyMismatch,
		},
		// Testname: turn-quota
		// Description: When the operator configured an allocation quota per
		// user, the allocation past it MUST be refused with 486 (Allocation
		// Quota Reached).
		{
			ID: "turn-quota", Section: "RFC 8656 §7.2", Level: Must, Labels: turn, TURN: true,
			Summary: "allocation past the quota -> 486",
			Run:     checkQuota,
		},
	}
}

// allocated opens a session with a UDP allocation.
func (e *env) allocated(ctx context.Context) (*session, error) {
	s, err := e.newSession(ctx)
	if err != nil {
		return nil, err
	}
	return s, s.mustAllocate(ctx)
}

// unauthAllocate sends an Allocate without credentials.
func (e *env) unauthAllocate(ctx context.Context) (*stun.Message, *stun.Message, error) {
	s, err := e.newSession(ctx)
	if err != nil {
		return nil, nil, err
	}
	req, err := s.build(stun.MethodAllocate, stun.ClassRequest, requestedTransport(protoUDP))
	if err != nil {
		return nil, nil, err
	}
	res, err := s.c.roundTrip(ctx, req, e.t.Timeout)
	if errors.Is(err, errTimeout) {
		return req, nil, nil
	}
	return req, res, err
}

func checkUnauthenticated(ctx context.Context, e *env) Outcome {
	_, res, err := e.unauthAllocate(ctx)
	if err != nil {
		return broken(err)
	}
	if res == nil {
		return fail("no answer")
	}
	if code, _ := errorCode(res); code != 401 {
		return fail("answered %s", describe(res))
	}
	if !res.Contains(stun.AttrRealm) || !res.Contains(stun.AttrNonce) {
		return fail("401 without REALM or NONCE")
	}
	return pass("401 with REALM and NONCE")
}

func checkWrongCredentials(ctx context.Context, e *env) Outcome {
	e.wrongPassword = true
	s, err := e.newSession(ctx)
	if err != nil {
		return broken(err)
	}
	res, err := s.allocate(ctx)
	if err != nil {
		return broken(err)
	}
	if res.Type.Class == stun.ClassSuccessResponse {
		return fail("allocated with a wrong password")
	}
	if code, _ := errorCode(res); code != 401 {
		return fail("answered %s", describe(res))
	}
	return pass("401")
}

func checkStaleNonce(ctx context.Context, e *env) Outcome {
	s, err := e.newSession(ctx)
	if err != nil {
		return broken(err)
	}
	// Learn the realm, then use a nonce of our own.
	req, err := s.build(stun.MethodAllocate, stun.ClassRequest, requestedTransport(protoUDP))
	if err != nil {
		return broken(err)
	}
	res, err := s.c.roundTrip(ctx, req, e.t.Timeout)
	if err != nil {
		return broken(err)
	}
	var realm stun.Realm
	if realm.GetFrom(res) != nil {
		return broken(fmt.Errorf("no REALM in %s", describe(res)))
	}
	s.realm, s.nonce = realm.String(), "obMatJos2AAAAeW91IGRpZCBub3QgaXNzdWUgdGhpcw"
	user, password := e.credentials()
	s.key = stun.NewLongTermIntegrity(user, s.realm, password)
	req, err = s.build(stun.MethodAllocate, stun.ClassRequest, requestedTransport(protoUDP))
	if err != nil {
		return broken(err)
	}
	res, err = s.c.roundTrip(ctx, req, e.t.Timeout)
	if err != nil {
		return fail("no answer to a request with an unknown nonce: %v", err)
	}
	if res.Type.Class == stun.ClassSuccessResponse {
		s.relay = &net.UDPAddr{} // so that close frees it
		return fail("allocated with a nonce the server never issued")
	}
	code, _ := errorCode(res)
	var nonce stun.Nonce
	if code != 438 {
		return fail("answered %s", describe(res))
	}
	if nonce.GetFrom(res) != nil || nonce.String() == s.nonce {
		return fail("438 without a new NONCE")
	}
	return pass("438 with a new NONCE")
}

func checkAllocate(ctx context.Context, e *env) Outcome {
	s, err := e.newSession(ctx)
	if err != nil {
		return broken(err)
	}
	res, err := s.allocate(ctx)
	if err != nil {
		return fail("%v", err)
	}
	if res.Type.Class != stun.ClassSuccessResponse {
		return fail("answered %s", describe(res))
	}
	v, err := res.Get(stun.AttrLifetime)
	if err != nil || len(v) != 4 {
		return fail("success without LIFETIME")
	}
	if s.mapped == nil {
		return fail("success without XOR-MAPPED-ADDRESS")
	}
	return pass("relayed %s, lifetime %d s", s.relay, be32(v))
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// mismatch makes an allocation and sends a second Allocate on its 5-tuple.
func (e *env) mismatch(ctx context.Context) (*stun.Message, error) {
	s, err := e.allocated(ctx)
	if err != nil {
		return nil, err
	}
	return s.request(ctx, stun.MethodAllocate, requestedTransport(protoUDP))
}

func checkAllocationMismatch(ctx context.Context, e *env) Outcome {
	res, err := e.mismatch(ctx)
	if err != nil {
		return broken(err)
	}
	if code, _ := errorCode(res); code != 437 {
		return fail("answered %s", describe(res))
	}
	return pass("437")
}

func checkErrorReason(ctx context.Context, e *env) Outcome {
	_, res401, err := e.unauthAllocate(ctx)
	if err != nil || res401 == nil {
		return broken(fmt.Errorf("unauthenticated Allocate: %v", err))
	}
	res437, err := e.mismatch(ctx)
	if err != nil {
		return broken(err)
	}
	var empty []string
	for _, r := range []*stun.Message{res401, res437} {
		code, reason := errorCode(r)
		if code != 0 && reason == "" {
			empty = append(empty, fmt.Sprint(code))
		}
	}
	if len(empty) > 0 {
		return fail("empty reason phrase in %v", empty)
	}
	return pass("401 %q, 437 %q", reasonOf(res401), reasonOf(res437))
}

func reasonOf(m *stun.Message) string { _, r := errorCode(m); return r }

func checkRefresh(ctx context.Context, e *env) Outcome {
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	res, err := s.request(ctx, stun.MethodRefresh, lifetime(300))
	if err != nil {
		return fail("%v", err)
	}
	if res.Type.Class != stun.ClassSuccessResponse {
		return fail("answered %s", describe(res))
	}
	v, err := res.Get(stun.AttrLifetime)
	if err != nil || len(v) != 4 || be32(v) == 0 {
		return fail("success without a non-zero LIFETIME")
	}
	return pass("lifetime %d s", be32(v))
}

func checkRefreshZero(ctx context.Context, e *env) Outcome {
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	res, err := s.request(ctx, stun.MethodRefresh, lifetime(0))
	if err != nil {
		return fail("%v", err)
	}
	if res.Type.Class != stun.ClassSuccessResponse {
		return fail("Refresh 0 answered %s", describe(res))
	}
	granted := "no LIFETIME"
	if v, err := res.Get(stun.AttrLifetime); err == nil && len(v) == 4 {
		granted = fmt.Sprintf("LIFETIME %d", be32(v))
	}
	s.relay = nil
	res, err = s.request(ctx, stun.MethodRefresh, lifetime(300))
	if err != nil {
		return fail("Refresh 0 answered success with %s; a Refresh after it: %v", granted, err)
	}
	if code, _ := errorCode(res); code != 437 {
		lt := ""
		if v, err := res.Get(stun.AttrLifetime); err == nil && len(v) == 4 {
			lt = fmt.Sprintf(" with LIFETIME %d", be32(v))
		}
		return fail("Refresh 0 answered success with %s; a Refresh after it answered %s%s", granted, describe(res), lt)
	}
	return pass("deleted; next Refresh 437")
}

// permit creates a permission for ip on s.
func (s *session) permit(ctx context.Context, ip net.IP, port int) (*stun.Message, error) {
	return s.request(ctx, stun.MethodCreatePermission, peerAddr(ip, port))
}

func (s *session) mustPermit(ctx context.Context, a *net.UDPAddr) error {
	res, err := s.permit(ctx, a.IP, a.Port)
	if err != nil {
		return err
	}
	if res.Type.Class != stun.ClassSuccessResponse {
		return fmt.Errorf("CreatePermission %s refused: %s (is it a --peer-ip the server allows?)", a.IP, describe(res))
	}
	return nil
}

// relayWait is how long a datagram through the relay may take.
func (e *env) relayWait() time.Duration { return e.t.Timeout }

func checkSendData(ctx context.Context, e *env) Outcome {
	p, err := e.peerOn(0)
	if err != nil {
		return skip("%v", err)
	}
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	if err := s.mustPermit(ctx, p.addr()); err != nil {
		return broken(err)
	}
	out := payload("send")
	if err := s.send(p.addr(), out, false); err != nil {
		return broken(err)
	}
	from, ok := p.wait(out, e.relayWait())
	if !ok {
		return fail("Send indication not relayed to %s", p.addr())
	}
	back := payload("data")
	if err := p.sendTo(back, from); err != nil {
		return broken(err)
	}
	peer, _, ok := s.received(back, e.relayWait())
	if !ok {
		return fail("peer's datagram to the relay %s did not come back as a Data indication", from)
	}
	if peer == nil || !peer.IP.Equal(p.addr().IP) || peer.Port != p.addr().Port {
		return fail("Data indication names peer %v, want %s", peer, p.addr())
	}
	return pass("relayed via %s both ways", from)
}

func checkPermissionIPOnly(ctx context.Context, e *env) Outcome {
	a, err := e.peerOn(0)
	if err != nil {
		return skip("%v", err)
	}
	b, err := e.listen(a.addr().IP)
	if err != nil {
		return broken(err)
	}
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	if err := s.mustPermit(ctx, a.addr()); err != nil {
		return broken(err)
	}
	// Learn the relayed address as the peers see it (it may differ from
	// XOR-RELAYED-ADDRESS behind a NAT).
	out := payload("to-a")
	if err := s.send(a.addr(), out, false); err != nil {
		return broken(err)
	}
	relay, ok := a.wait(out, e.relayWait())
	if !ok {
		return broken(errors.New("Send indication to the permitted peer not relayed"))
	}
	fromB := payload("from-b")
	if err := b.sendTo(fromB, relay); err != nil {
		return broken(err)
	}
	if _, _, ok := s.received(fromB, e.relayWait()); !ok {
		return fail("datagram from %s (same IP, other port than the permission's %d) not relayed: permission keyed by port", b.addr(), a.addr().Port)
	}
	return pass("permission for %s covers %s", a.addr(), b.addr())
}

func checkNoPermission(ctx context.Context, e *env) Outcome {
	a, err := e.peerOn(0)
	if err != nil {
		return skip("%v", err)
	}
	stranger, err := e.peerOn(1)
	if err != nil {
		return skip("%v", err)
	}
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	if err := s.mustPermit(ctx, a.addr()); err != nil {
		return broken(err)
	}
	out := payload("to-a")
	if err := s.send(a.addr(), out, false); err != nil {
		return broken(err)
	}
	relay, ok := a.wait(out, e.relayWait())
	if !ok {
		return broken(errors.New("Send indication to the permitted peer not relayed"))
	}
	intruder := payload("stranger")
	if err := stranger.sendTo(intruder, relay); err != nil {
		return broken(err)
	}
	// A marker from the permitted peer, sent after: once it is relayed,
	// the stranger's datagram would have been too.
	marker := payload("marker")
	if err := a.sendTo(marker, relay); err != nil {
		return broken(err)
	}
	if _, _, ok := s.received(marker, e.relayWait()); !ok {
		return broken(errors.New("the permitted peer's datagram was not relayed"))
	}
	if _, _, ok := s.received(intruder, 10*time.Millisecond); ok {
		return fail("datagram from %s (no permission) relayed to the client", stranger.addr())
	}
	return pass("datagram from %s dropped", stranger.addr())
}

// bind sends ChannelBind ch -> peer.
func (s *session) bind(ctx context.Context, ch uint16, peer *net.UDPAddr) (*stun.Message, error) {
	return s.request(ctx, stun.MethodChannelBind, channelNumber(ch), peerAddr(peer.IP, peer.Port))
}

func checkChannelBind(ctx context.Context, e *env) Outcome {
	p, err := e.peerOn(0)
	if err != nil {
		return skip("%v", err)
	}
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	const ch = 0x4000
	res, err := s.bind(ctx, ch, p.addr())
	if err != nil {
		return fail("%v", err)
	}
	if res.Type.Class != stun.ClassSuccessResponse {
		return fail("ChannelBind 0x4000 answered %s", describe(res))
	}
	out := payload("channel-out")
	if err := s.channelData(ch, out); err != nil {
		return broken(err)
	}
	relay, ok := p.wait(out, e.relayWait())
	if !ok {
		return fail("ChannelData not relayed to the peer")
	}
	back := payload("channel-back")
	if err := p.sendTo(back, relay); err != nil {
		return broken(err)
	}
	_, got, ok := s.received(back, e.relayWait())
	if !ok {
		return fail("the peer's datagram did not come back")
	}
	if got != ch {
		return fail("the peer's datagram came back as a Data indication, not ChannelData 0x%04x", ch)
	}
	return pass("0x4000 both ways")
}

func checkChannelRange(ctx context.Context, e *env) Outcome {
	return channelsRefused(ctx, e, 0x3FFF, 0x8000)
}

func checkChannelRange8656(ctx context.Context, e *env) Outcome {
	return channelsRefused(ctx, e, 0x5000)
}

// channelsRefused passes when every ChannelBind to one of chs is
// answered with 400.
func channelsRefused(ctx context.Context, e *env, chs ...uint16) Outcome {
	p, err := e.peerOn(0)
	if err != nil {
		return skip("%v", err)
	}
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	var bad, good []string
	for _, ch := range chs {
		good = append(good, fmt.Sprintf("0x%04X", ch))
		res, err := s.bind(ctx, ch, p.addr())
		if err != nil {
			return broken(err)
		}
		if code, _ := errorCode(res); res.Type.Class != stun.ClassErrorResponse || code != 400 {
			bad = append(bad, fmt.Sprintf("0x%04X: %s", ch, describe(res)))
		}
	}
	if len(bad) > 0 {
		return fail("%v", bad)
	}
	return pass("%s refused with 400", strings.Join(good, ", "))
}

func checkChannelRebind(ctx context.Context, e *env) Outcome {
	a, err := e.peerOn(0)
	if err != nil {
		return skip("%v", err)
	}
	b, err := e.listen(a.addr().IP)
	if err != nil {
		return broken(err)
	}
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	steps := []struct {
		ch   uint16
		peer *net.UDPAddr
		ok   bool
		what string
	}{
		{0x4001, a.addr(), true, "first bind 0x4001 -> A"},
		{0x4001, b.addr(), false, "0x4001 -> B (channel already bound)"},
		{0x4002, a.addr(), false, "0x4002 -> A (address already bound)"},
		{0x4001, a.addr(), true, "0x4001 -> A again (refresh)"},
	}
	for _, st := range steps {
		res, err := s.bind(ctx, st.ch, st.peer)
		if err != nil {
			return broken(err)
		}
		code, _ := errorCode(res)
		switch {
		case st.ok && res.Type.Class != stun.ClassSuccessResponse:
			return fail("%s answered %s", st.what, describe(res))
		case !st.ok && (res.Type.Class != stun.ClassErrorResponse || code != 400):
			return fail("%s answered %s, want 400", st.what, describe(res))
		}
	}
	return pass("rebinding refused with 400, refresh accepted")
}

func checkRequestedFamily(ctx context.Context, e *env) Outcome {
	s, err := e.newSession(ctx)
	if err != nil {
		return broken(err)
	}
	res, err := s.allocate(ctx, attr{stun.AttrRequestedAddressFamily, []byte{0x02, 0, 0, 0}})
	if err != nil {
		return fail("%v", err)
	}
	if res.Type.Class == stun.ClassSuccessResponse {
		if s.relay.IP.To4() != nil {
			return fail("asked for IPv6, got relayed address %s", s.relay)
		}
		return pass("IPv6 relayed address %s", s.relay)
	}
	if code, _ := errorCode(res); code != 440 {
		return fail("answered %s", describe(res))
	}
	return pass("440 (no IPv6 relay)")
}

func checkPeerFamilyMismatch(ctx context.Context, e *env) Outcome {
	s, err := e.allocated(ctx)
	if err != nil {
		return broken(err)
	}
	if s.relay.IP.To4() == nil {
		return skip("the allocation is IPv6")
	}
	res, err := s.permit(ctx, net.ParseIP("2001:db8::1"), 9)
	if err != nil {
		return fail("%v", err)
	}
	if code, _ := errorCode(res); res.Type.Class != stun.ClassErrorResponse || code != 443 {
		return fail("answered %s", describe(res))
	}
	return pass("443")
}

func checkQuota(ctx context.Context, e *env) Outcome {
	if e.t.Quota <= 0 {
		return skip("no --quota: the server's allocation quota is not known")
	}
	for i := range e.t.Quota {
		if _, err := e.allocated(ctx); err != nil {
			return broken(fmt.Errorf("allocation %d of %d: %w", i+1, e.t.Quota, err))
		}
	}
	s, err := e.newSession(ctx)
	if err != nil {
		return broken(err)
	}
	res, err := s.allocate(ctx)
	if err != nil {
		return fail("%v", err)
	}
	if code, _ := errorCode(res); code != 486 {
		return fail("allocation %d answered %s", e.t.Quota+1, describe(res))
	}
	return pass("allocation %d refused with 486", e.t.Quota+1)
}
