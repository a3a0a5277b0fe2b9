package conform

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pion/stun/v3"
)

// Attributes of the extensions (RFC 7635 §6.1; RFC 8489 §14.11, §14.12).
const (
	attrThirdPartyAuthorization stun.AttrType = 0x802E
	attrConnectionID            stun.AttrType = 0x002A
)

func extensionChecks() []Check {
	return []Check{
		// Testname: stun-message-integrity-sha256
		// Description: A server that offers SHA-256 in PASSWORD-ALGORITHMS
		// MUST accept a request authenticated with MESSAGE-INTEGRITY-SHA256
		// alone and answer it with MESSAGE-INTEGRITY-SHA256.
		{
			ID: "stun-message-integrity-sha256", Section: "RFC 8489 §9.2.3, §14.6", Level: Must, Labels: []string{"stun", "turn"}, TURN: true,
			Summary: "MESSAGE-INTEGRITY-SHA256 accepted when offered",
			Run:     checkIntegritySHA256,
		},
		// Testname: rfc6062-tcp-allocation
		// Description: A server that accepts REQUESTED-TRANSPORT TCP over a
		// TCP control connection MUST answer a Connect request to a
		// permitted peer with CONNECTION-ID after opening the TCP connection
		// to it; one that does not support RFC 6062 answers 442.
		{
			ID: "rfc6062-tcp-allocation", Section: "RFC 6062 §5.1, §5.2", Level: Must, Labels: []string{"rfc6062", "turn"}, TURN: true,
			Summary: "TCP allocation and Connect to a peer",
			Run:     checkTCPAllocation,
		},
		// Testname: rfc7635-third-party-authorization
		// Description: A server that offers OAuth (THIRD-PARTY-AUTHORIZATION
		// in its 401) MUST accept an ACCESS-TOKEN; the suite reports whether
		// it is offered and cannot take the check without a token.
		{
			ID: "rfc7635-third-party-authorization", Section: "RFC 7635 §4, §6.1", Level: Must, Labels: []string{"rfc7635", "turn"}, TURN: true,
			Summary: "OAuth third-party authorization",
			Run:     checkThirdPartyAuth,
		},
	}
}

// integritySHA256 adds MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6) with the
// SHA-256 long-term key (§9.2.2).
type integritySHA256 []byte

func (k integritySHA256) AddTo(m *stun.Message) error {
	m.Add(stun.AttrMessageIntegritySHA256, make([]byte, sha256.Size))
	h := hmac.New(sha256.New, k)
	h.Write(m.Raw[:len(m.Raw)-4-sha256.Size])
	copy(m.Raw[len(m.Raw)-sha256.Size:], h.Sum(nil))
	return nil
}

func checkIntegritySHA256(ctx context.Context, e *env) Outcome {
	_, res, err := e.unauthAllocate(ctx)
	if err != nil || res == nil {
		return broken(fmt.Errorf("unauthenticated Allocate: %v", err))
	}
	algs, err := res.Get(stun.AttrPasswordAlgorithms)
	if err != nil {
		return unsupported("no PASSWORD-ALGORITHMS in the 401: only MESSAGE-INTEGRITY (SHA-1) offered")
	}
	offered := false
	for i := 0; i+4 <= len(algs); {
		alg, plen := int(algs[i])<<8|int(algs[i+1]), int(algs[i+2])<<8|int(algs[i+3])
		offered = offered || alg == 0x0002
		i += 4 + (plen+3)&^3
	}
	if !offered {
		return unsupported("PASSWORD-ALGORITHMS does not list SHA-256")
	}
	var realm stun.Realm
	var nonce stun.Nonce
	if realm.GetFrom(res) != nil || nonce.GetFrom(res) != nil {
		return fail("401 without REALM or NONCE")
	}
	user, password := e.credentials()
	sum := sha256.Sum256([]byte(user + ":" + realm.String() + ":" + password))
	s, err := e.newSession(ctx)
	if err != nil {
		return broken(err)
	}
	req, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest),
		requestedTransport(protoUDP), stun.NewUsername(user), realm, nonce,
		attr{stun.AttrPasswordAlgorithms, algs}, attr{stun.AttrPasswordAlgorithm, []byte{0, 2, 0, 0}},
		integritySHA256(sum[:]), stun.Fingerprint)
	if err != nil {
		return broken(err)
	}
	out, err := s.c.roundTrip(ctx, req, e.t.Timeout)
	if err != nil {
		return fail("%v", err)
	}
	if out.Type.Class != stun.ClassSuccessResponse {
		return fail("answered %s", describe(out))
	}
	s.relay = &net.UDPAddr{} // close frees it (with SHA-1 credentials)
	if !out.Contains(stun.AttrMessageIntegritySHA256) {
		return fail("success without MESSAGE-INTEGRITY-SHA256")
	}
	return pass("allocated with MESSAGE-INTEGRITY-SHA256")
}

func checkThirdPartyAuth(ctx context.Context, e *env) Outcome {
	_, res, err := e.unauthAllocate(ctx)
	if err != nil || res == nil {
		return broken(fmt.Errorf("unauthenticated Allocate: %v", err))
	}
	if !res.Contains(attrThirdPartyAuthorization) {
		return unsupported("no THIRD-PARTY-AUTHORIZATION in the 401")
	}
	return skip("OAuth offered; the suite has no access token to test it with")
}

func checkTCPAllocation(ctx context.Context, e *env) Outcome {
	if e.t.Transport == "udp" {
		return skip("RFC 6062 needs a TCP or TLS URL (?transport=tcp, turns:)")
	}
	s, err := e.newSession(ctx)
	if err != nil {
		return broken(err)
	}
	res, err := s.request(ctx, stun.MethodAllocate, requestedTransport(protoTCP))
	if err != nil {
		return fail("%v", err)
	}
	if code, _ := errorCode(res); code == 442 {
		return unsupported("442: no TCP allocations")
	}
	if res.Type.Class != stun.ClassSuccessResponse {
		return fail("TCP Allocate answered %s", describe(res))
	}
	s.relay = &net.UDPAddr{}
	if len(e.t.PeerIPs) == 0 {
		return skip("allocated; %v", errNoPeer)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(e.t.PeerIPs[0].String(), "0"))
	if err != nil {
		return broken(err)
	}
	e.closers = append(e.closers, func() { _ = ln.Close() })
	peer := ln.Addr().(*net.TCPAddr)
	if res, err := s.permit(ctx, peer.IP, peer.Port); err != nil || res.Type.Class != stun.ClassSuccessResponse {
		return broken(fmt.Errorf("CreatePermission %s: %v %s", peer.IP, err, describe(res)))
	}
	accepted := make(chan error, 1)
	go func() {
		_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(2 * e.t.Timeout))
		c, err := ln.Accept()
		if err == nil {
			_ = c.Close()
		}
		accepted <- err
	}()
	res, err = s.request(ctx, stun.MethodConnect, peerAddr(peer.IP, peer.Port))
	acceptErr := <-accepted
	if err != nil {
		return fail("Connect: %v", err)
	}
	if res.Type.Class != stun.ClassSuccessResponse || !res.Contains(attrConnectionID) {
		return fail("Connect answered %s", describe(res))
	}
	if acceptErr != nil {
		return fail("Connect succeeded but no TCP connection reached %s: %v", peer, errors.Unwrap(acceptErr))
	}
	return pass("Connect to %s: CONNECTION-ID, connection accepted", peer)
}
