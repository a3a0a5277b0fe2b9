package turn

import (
	"net"
	"sync"

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
//     Mismatch").
//
// Upstream: no pion/turn issue covers these yet (searched 2026-11-30; to be
// filed against internal/server/turn.go handleCreatePermissionRequest and
// handleChannelBindRequest). Remove this file when a release answers 403.
//
// The fix rewrites those responses on their way out, on the listener
// sockets pion writes to, and signs them again with the long-term key of
// the client they go to (the key pion's AuthHandler returned for it).

// fixer holds what a rewrite needs: the key of each client's last
// authenticated request and the last peer refused to it.
type fixer struct {
	relayIP net.IP
	mu      sync.Mutex
	keys    map[string][]byte // by client transport address
	refused map[string]net.IP // by client transport address
}

// maxTracked bounds the maps: past it they are cleared (a client then gets
// an unsigned 403, which it may ignore, never a wrong answer).
const maxTracked = 1 << 14

func newFixer(relayIP net.IP) *fixer {
	return &fixer{relayIP: relayIP, keys: map[string][]byte{}, refused: map[string]net.IP{}}
}

// auth wraps pion's AuthHandler to remember each client's key.
func (f *fixer) auth(inner pionturn.AuthHandler) pionturn.AuthHandler {
	return func(username, realm string, src net.Addr) ([]byte, bool) {
		key, ok := inner(username, realm, src)
		if ok {
			f.mu.Lock()
			if len(f.keys) >= maxTracked {
				clear(f.keys)
			}
			f.keys[src.String()] = key
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
		f.refused[client.String()] = peer
		f.mu.Unlock()
		return false
	}
}

// rewrite returns b, or the corrected response when b is one of pion's
// faulty error responses to dst.
func (f *fixer) rewrite(b []byte, dst net.Addr) []byte {
	if len(b) < 20 || !stun.IsMessage(b) {
		return b
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if m.Decode() != nil || m.Type.Class != stun.ClassErrorResponse {
		return b
	}
	var ec stun.ErrorCodeAttribute
	hasCode := ec.GetFrom(m) == nil
	code := ec.Code
	switch {
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

func (f *fixer) refusalCode(dst net.Addr) stun.ErrorCode {
	f.mu.Lock()
	peer := f.refused[dst.String()]
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
		key := f.keys[dst.String()]
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
}

func (c *fixedConn) Write(b []byte) (int, error) {
	out := c.f.rewrite(b, c.RemoteAddr())
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
