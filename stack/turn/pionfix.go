package turn

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/stun/v3"
	pionturn "github.com/pion/turn/v4"
)

// This file is the one place where rtclab works around pion/turn v4.1.3's
// answers (internal/server/turn.go), found by `rtclab conform`:
//
//   - a CreatePermission refused by the PermissionHandler is answered with
//     an error response that has no ERROR-CODE at all (RFC 8656 §10.2 asks
//     for 403 Forbidden, or 443 for a peer of the other address family);
//   - a refused ChannelBind is answered 401 Unauthorized, without REALM or
//     NONCE, so clients retry their credentials (RFC 8656 §12.2: 403/443);
//   - every error response pion builds has an empty reason phrase
//     (RFC 8489 §14.8 recommends one per code, e.g. 437 "Allocation
//     Mismatch");
//   - requests pion should refuse it answers, or never answers: a bad
//     FINGERPRINT or an unknown comprehension-required attribute is
//     ignored (RFC 8489 §7, §6.3.1: discard, 420), a ChannelBind for
//     0x3FFF succeeds (RFC 8656 §12.2: 400), REQUESTED-ADDRESS-FAMILY IPv6
//     gets an IPv4 relay (§7.2: 440), a TCP allocation is granted though
//     Connect is not implemented (RFC 6062 §5.1: 442 without it), wrong
//     credentials get 400 (RFC 8489 §9.2.4: 401), and a Refresh,
//     CreatePermission or ChannelBind without an allocation gets no
//     answer (RFC 8656 §8.2, §10.2, §12.2: 437).
//
// Upstream: no pion/turn issue covers these yet (searched 2026-11-30; to be
// filed against internal/server/turn.go handleCreatePermissionRequest and
// handleChannelBindRequest). Remove this file when a release answers 403.
//
// The fix screens requests on their way in (answering those pion gets
// wrong itself) and rewrites pion's responses on their way out, on the
// listener sockets pion reads and writes, signing them again with the
// long-term key of the client they go to.

// fixer holds what a rewrite needs: the key of each client's last
// authenticated request and the last peer refused to it.
type fixer struct {
	relayIP net.IP
	// keyFor is the credential check without logging (pion's own call
	// logs refusals).
	keyFor  pionturn.AuthHandler
	mu      sync.Mutex
	keys    map[string][]byte // by client transport address
	refused map[string]net.IP // by client transport address
	// authFailed are requests whose credentials failed, by transaction ID:
	// pion answers them 400, which becomes 401 with their REALM and NONCE.
	authFailed map[[stun.TransactionIDSize]byte]*stun.Message
	// allocations are the live allocations by client transport address,
	// with their expiry, learned from pion's Allocate and Refresh answers.
	allocations map[string]time.Time
	// untracked is set once allocations overflowed: absences are unknown.
	untracked bool
}

// maxTracked bounds the maps: past it they are cleared (a client then gets
// an unsigned 403, which it may ignore, never a wrong answer).
const maxTracked = 1 << 14

func newFixer(relayIP net.IP, keyFor pionturn.AuthHandler) *fixer {
	return &fixer{
		relayIP: relayIP, keyFor: keyFor, keys: map[string][]byte{}, refused: map[string]net.IP{},
		authFailed: map[[stun.TransactionIDSize]byte]*stun.Message{}, allocations: map[string]time.Time{},
	}
}

// addrKey names a client's transport address with its protocol: a UDP
// and a TCP client may share an address and port.
func addrKey(a net.Addr) string { return a.Network() + "/" + a.String() }

// auth wraps pion's AuthHandler to remember each client's key.
func (f *fixer) auth(inner pionturn.AuthHandler) pionturn.AuthHandler {
	return func(username, realm string, src net.Addr) ([]byte, bool) {
		key, ok := inner(username, realm, src)
		if ok {
			f.mu.Lock()
			if len(f.keys) >= maxTracked {
				clear(f.keys)
			}
			f.keys[addrKey(src)] = key
			f.mu.Unlock()
		}
		return key, ok
	}
}

// permission wraps the relay policy: a refusal is remembered for the
// response rewrite, and a peer of the other address family is refused.
func (f *fixer) permission(allowed func(client net.Addr, peer net.IP) bool) pionturn.PermissionHandler {
	return func(client net.Addr, peer net.IP) bool {
		if peerFamilyMatches(f.relayIP, peer) && allowed(client, peer) {
			return true
		}
		f.mu.Lock()
		if len(f.refused) >= maxTracked {
			clear(f.refused)
		}
		f.refused[addrKey(client)] = peer
		f.mu.Unlock()
		return false
	}
}

// rewrite returns b, or the corrected response when b is one of pion's
// faulty error responses to dst.
func (f *fixer) rewrite(b []byte, dst net.Addr) []byte {
	// Only responses are rewritten (class bit C1, RFC 8489 §5): requests
	// and indications, the relayed data among them, pass untouched.
	if len(b) < 20 || !stun.IsMessage(b) || b[0]&0x01 == 0 {
		return b
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if m.Decode() != nil {
		return b
	}
	if m.Type.Class == stun.ClassSuccessResponse {
		f.track(m, dst)
		return b
	}
	if m.Type.Class != stun.ClassErrorResponse {
		return b
	}
	f.mu.Lock()
	failedReq := f.authFailed[m.TransactionID]
	delete(f.authFailed, m.TransactionID)
	f.mu.Unlock()
	var ec stun.ErrorCodeAttribute
	hasCode := ec.GetFrom(m) == nil
	code := ec.Code
	switch {
	case failedReq != nil && hasCode && code == stun.CodeBadRequest:
		return f.unauthorized(m, failedReq)
	case !hasCode && m.Type.Method == stun.MethodCreatePermission,
		hasCode && code == stun.CodeUnauthorized && m.Type.Method == stun.MethodChannelBind && !m.Contains(stun.AttrNonce):
		code = f.refusalCode(dst)
	case hasCode && len(ec.Reason) == 0:
	default:
		return b
	}
	out, ok := f.rebuild(m, code, dst)
	if !ok {
		return b
	}
	return out
}

// unauthorized is 401 to req, with the REALM and NONCE it came with (the
// nonce was valid: pion checks it before the credentials).
func (f *fixer) unauthorized(res, req *stun.Message) []byte {
	setters := []stun.Setter{stun.NewTransactionIDSetter(res.TransactionID), res.Type, stun.CodeUnauthorized}
	for _, t := range []stun.AttrType{stun.AttrRealm, stun.AttrNonce} {
		if v, err := req.Get(t); err == nil {
			setters = append(setters, stun.RawAttribute{Type: t, Value: v})
		}
	}
	out, err := stun.Build(append(setters, stun.Fingerprint)...)
	if err != nil {
		return res.Raw
	}
	return out.Raw
}

// track follows the allocations pion grants, refreshes and deletes.
func (f *fixer) track(m *stun.Message, dst net.Addr) {
	if m.Type.Method != stun.MethodAllocate && m.Type.Method != stun.MethodRefresh {
		return
	}
	v, err := m.Get(stun.AttrLifetime)
	if err != nil || len(v) != 4 {
		return
	}
	life := time.Duration(binary.BigEndian.Uint32(v)) * time.Second
	f.mu.Lock()
	defer f.mu.Unlock()
	if life == 0 {
		delete(f.allocations, addrKey(dst))
		return
	}
	now := time.Now()
	if len(f.allocations) >= maxTracked {
		for k, exp := range f.allocations {
			if !now.Before(exp) {
				delete(f.allocations, k)
			}
		}
		// Full of live allocations: stop vouching for absences for good
		// (an allocation missed now may live on; unknown clients are
		// then left to pion) rather than answer 437 to one that exists.
		if len(f.allocations) >= maxTracked {
			f.untracked = true
			return
		}
	}
	f.allocations[addrKey(dst)] = now.Add(life)
}

func (f *fixer) refusalCode(dst net.Addr) stun.ErrorCode {
	f.mu.Lock()
	peer := f.refused[addrKey(dst)]
	f.mu.Unlock()
	if peer != nil && !peerFamilyMatches(f.relayIP, peer) {
		return stun.CodePeerAddrFamilyMismatch
	}
	return stun.CodeForbidden
}

// rebuild makes m again with ERROR-CODE code and its standard reason,
// keeping the other attributes and signing it with dst's key when m was
// signed.
func (f *fixer) rebuild(m *stun.Message, code stun.ErrorCode, dst net.Addr) ([]byte, bool) {
	setters := []stun.Setter{stun.NewTransactionIDSetter(m.TransactionID), m.Type, code}
	signed, fingerprint := false, false
	for _, a := range m.Attributes {
		switch a.Type {
		case stun.AttrErrorCode:
		case stun.AttrMessageIntegrity:
			signed = true
		case stun.AttrFingerprint:
			fingerprint = true
		default:
			setters = append(setters, stun.RawAttribute{Type: a.Type, Value: a.Value})
		}
	}
	if signed {
		f.mu.Lock()
		key := f.keys[addrKey(dst)]
		f.mu.Unlock()
		if key != nil {
			setters = append(setters, stun.MessageIntegrity(key))
		}
	}
	if fingerprint {
		setters = append(setters, stun.Fingerprint)
	}
	out, err := stun.Build(setters...)
	if err != nil {
		return nil, false
	}
	return out.Raw, true
}

// fixedPacketConn rewrites what pion writes on a UDP listener.
type fixedPacketConn struct {
	net.PacketConn
	f *fixer
	// fast relays bound channels' data itself (real network only).
	fast *fastPath
}

// ReadFrom hands pion the messages the screen lets through, answering
// the others itself, and the ChannelData the fast path does not relay.
func (c *fixedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	udp, _ := c.PacketConn.(*net.UDPConn)
	for {
		var (
			n    int
			addr net.Addr
			err  error
		)
		if udp != nil && c.fast != nil {
			var ap netip.AddrPort
			n, ap, err = readFromUDP(udp, p)
			if err != nil {
				return n, nil, err
			}
			if c.fast.fromClient(p[:n], ap) != toPion {
				continue
			}
			addr = net.UDPAddrFromAddrPort(ap)
		} else {
			n, addr, err = c.PacketConn.ReadFrom(p)
		}
		if err != nil || n == 0 {
			return n, addr, err
		}
		reply, handled := c.f.screen(p[:n], addr)
		if !handled {
			return n, addr, nil
		}
		if reply != nil {
			_, _ = c.PacketConn.WriteTo(reply, addr)
		}
	}
}

func (c *fixedPacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	out := c.f.rewrite(b, addr)
	if _, err := c.PacketConn.WriteTo(out, addr); err != nil {
		return 0, err
	}
	return len(b), nil
}

// fixedListener rewrites what pion writes on TCP and TLS connections (one
// whole message per Write).
type fixedListener struct {
	net.Listener
	f *fixer
}

func (l *fixedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &fixedConn{Conn: c, f: l.f}, nil
}

type fixedConn struct {
	net.Conn
	f *fixer
	// in holds bytes read but not yet framed; out a frame (or
	// unframeable bytes) being handed to pion; rbuf is the read buffer
	// and inBuf the array in starts in when it was empty.
	in, out, rbuf, inBuf []byte
}

// Read frames the stream (RFC 8489 §6.2.2: STUN messages back to back;
// RFC 8656 §12.5: ChannelData padded to 4 bytes), screens each STUN
// message, and hands pion the rest unchanged.
func (c *fixedConn) Read(p []byte) (int, error) {
	for {
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			return n, nil
		}
		if n := streamFrameLen(c.in); n > 0 && len(c.in) >= n {
			frame := c.in[:n:n]
			c.in = c.in[n:]
			if reply, handled := c.f.screen(frame, c.RemoteAddr()); handled {
				if reply != nil {
					if _, err := c.Conn.Write(reply); err != nil {
						return 0, err
					}
				}
				continue
			}
			c.out = frame
			continue
		} else if n < 0 {
			c.out, c.in = c.in, nil // not STUN framing: pion decides
			continue
		}
		if c.rbuf == nil {
			c.rbuf = make([]byte, 4096)
		}
		wasEmpty := len(c.in) == 0
		if wasEmpty {
			// Everything framed so far was copied out: reuse the array.
			c.in = c.inBuf[:0]
		}
		n, err := c.Conn.Read(c.rbuf)
		c.in = append(c.in, c.rbuf[:n]...)
		if wasEmpty {
			c.inBuf = c.in[:0]
		}
		if err != nil && n == 0 {
			if len(c.in) > 0 { // a partial frame at the end
				c.out, c.in = c.in, nil
				continue
			}
			return 0, err
		}
	}
}

// streamFrameLen is the length of the frame at the start of b, 0 when the
// header is incomplete, -1 when b starts with neither STUN nor ChannelData.
func streamFrameLen(b []byte) int {
	if len(b) < 4 {
		return 0
	}
	l := int(binary.BigEndian.Uint16(b[2:4]))
	switch b[0] >> 6 {
	case 0:
		return 20 + l
	case 1:
		return 4 + (l+3)&^3
	}
	return -1
}

func (c *fixedConn) Write(b []byte) (int, error) {
	out := c.f.rewrite(b, c.RemoteAddr())
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
