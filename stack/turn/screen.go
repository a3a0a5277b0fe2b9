package turn

import (
	"net"
	"time"

	"github.com/pion/stun/v3"
)

// This file is the inbound half of pionfix.go: requests pion/turn v4.1.3
// gets wrong are answered here and never reach it.

// understoodAttrs are the comprehension-required attributes (0x0000-0x7FFF)
// pion's server implements or may ignore safely; anything else in a
// request is answered 420 (RFC 8489 §6.3.1). The SHA-256 integrity
// attributes are listed because a client sends them only next to
// MESSAGE-INTEGRITY when the server advertised none.
var understoodAttrs = map[stun.AttrType]bool{
	stun.AttrMappedAddress: true, stun.AttrUsername: true, stun.AttrMessageIntegrity: true,
	stun.AttrErrorCode: true, stun.AttrUnknownAttributes: true, stun.AttrChannelNumber: true,
	stun.AttrLifetime: true, stun.AttrXORPeerAddress: true, stun.AttrData: true,
	stun.AttrRealm: true, stun.AttrNonce: true, stun.AttrXORRelayedAddress: true,
	stun.AttrRequestedAddressFamily: true, stun.AttrEvenPort: true, stun.AttrRequestedTransport: true,
	stun.AttrDontFragment: true, stun.AttrXORMappedAddress: true, stun.AttrReservationToken: true,
	stun.AttrPriority: true, stun.AttrUseCandidate: true, stun.AttrMessageIntegritySHA256: true,
	stun.AttrPasswordAlgorithm: true, stun.AttrUserhash: true,
}

// Channel numbers a ChannelBind may use: RFC 5766 §11's 0x4000-0x7FFF.
// RFC 8656 §12 narrowed the range to 0x4000-0x4FFF, but RFC 5766 clients
// still pick numbers up to 0x7FFF (coturn's turnutils_uclient, libre,
// older libwebrtc): refusing them broke every uclient run of the TURN
// load test (400 on ChannelBind, exit 255). coturn keeps the old range
// too; the conform check turn-channel-range-rfc8656 reports it (SHOULD).
const (
	minChannel = 0x4000
	maxChannel = 0x7FFF
)

// screen looks at one message from src before pion does. It returns
// handled=true when pion must not see it, with the answer to send (nil to
// drop it silently).
func (f *fixer) screen(b []byte, src net.Addr) (reply []byte, handled bool) {
	if !stun.IsMessage(b) {
		return nil, false // ChannelData, or garbage pion ignores
	}
	// Decoded in place (Decode only reads Raw); copied only when kept.
	m := &stun.Message{Raw: b}
	if m.Decode() != nil {
		return nil, false
	}
	// RFC 8489 §7: a message whose FINGERPRINT does not match is dropped.
	if m.Contains(stun.AttrFingerprint) && stun.Fingerprint.Check(m) != nil {
		return nil, true
	}
	var unknown []stun.AttrType
	for _, a := range m.Attributes {
		if a.Type < 0x8000 && !understoodAttrs[a.Type] {
			unknown = append(unknown, a.Type)
		}
	}
	if len(unknown) > 0 {
		if m.Type.Class != stun.ClassRequest {
			return nil, true // §6.3.2: indications are discarded
		}
		return errorAnswer(m, stun.CodeUnknownAttribute, stun.UnknownAttributes(unknown)), true
	}
	if m.Type.Class != stun.ClassRequest || !m.Contains(stun.AttrMessageIntegrity) {
		return nil, false // pion answers 401 to unauthenticated requests
	}
	if !f.credentialsValid(m, src) {
		f.mu.Lock()
		if len(f.authFailed) >= maxTracked {
			clear(f.authFailed)
		}
		kept := &stun.Message{Raw: append([]byte(nil), b...)}
		if kept.Decode() == nil {
			f.authFailed[m.TransactionID] = kept
		}
		f.mu.Unlock()
		return nil, false // pion answers 400 (stale nonce: 438), rewritten to 401
	}
	switch m.Type.Method {
	case stun.MethodAllocate:
		if v, err := m.Get(stun.AttrRequestedTransport); err == nil && len(v) == 4 && v[0] != 17 {
			// RFC 6062 §5.1: a server without TCP allocations answers 442.
			return errorAnswer(m, stun.CodeUnsupportedTransProto, nil), true
		}
		if v, err := m.Get(stun.AttrRequestedAddressFamily); err == nil && len(v) == 4 {
			v6 := v[0] == 0x02
			if v6 != (f.relayIP.To4() == nil) {
				return errorAnswer(m, stun.CodeAddrFamilyNotSupported, nil), true // RFC 8656 §7.2
			}
		}
	case stun.MethodRefresh, stun.MethodCreatePermission, stun.MethodChannelBind:
		if !f.allocated(src) {
			// RFC 8656 §8.2, §10.2, §12.2; pion sends nothing.
			return errorAnswer(m, stun.CodeAllocMismatch, nil), true
		}
		if v, err := m.Get(stun.AttrChannelNumber); err == nil && len(v) == 4 && m.Type.Method == stun.MethodChannelBind {
			if ch := int(v[0])<<8 | int(v[1]); ch < minChannel || ch > maxChannel {
				return errorAnswer(m, stun.CodeBadRequest, nil), true // RFC 8656 §12.2, RFC 5766 §11.2
			}
		}
	}
	return nil, false
}

// credentialsValid checks MESSAGE-INTEGRITY as pion will (the user is
// known and the key verifies), without logging.
func (f *fixer) credentialsValid(m *stun.Message, src net.Addr) bool {
	var user stun.Username
	var realm stun.Realm
	if user.GetFrom(m) != nil || realm.GetFrom(m) != nil {
		return false
	}
	key, ok := f.keyFor(user.String(), realm.String(), src)
	return ok && stun.MessageIntegrity(key).Check(m) == nil
}

func (f *fixer) allocated(src net.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.allocations[addrKey(src)]
	return (ok && time.Now().Before(exp)) || (!ok && f.untracked)
}

// errorAnswer is an error response to m with code (and its standard
// reason), extra attributes, and a FINGERPRINT.
func errorAnswer(m *stun.Message, code stun.ErrorCode, extra stun.Setter) []byte {
	setters := []stun.Setter{stun.NewTransactionIDSetter(m.TransactionID), stun.NewType(m.Type.Method, stun.ClassErrorResponse), code}
	if extra != nil {
		setters = append(setters, extra)
	}
	out, err := stun.Build(append(setters, stun.Fingerprint)...)
	if err != nil {
		return nil
	}
	return out.Raw
}
