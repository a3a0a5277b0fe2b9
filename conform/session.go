package conform

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"github.com/pion/stun/v3"
)

// attr is a raw attribute setter.
type attr struct {
	t stun.AttrType
	v []byte
}

func (a attr) AddTo(m *stun.Message) error { m.Add(a.t, a.v); return nil }

// xorAddr encodes an XOR address attribute (RFC 8489 §14.2) in the family
// asked for: v6 keeps an IPv4-mapped address (::ffff:a.b.c.d) in the IPv6
// family, which is how the security checks send mapped forms.
type xorAddr struct {
	t    stun.AttrType
	ip   net.IP
	port int
	v6   bool
}

func (a xorAddr) AddTo(m *stun.Message) error {
	ip := a.ip.To16()
	family, n := byte(0x02), net.IPv6len
	if !a.v6 {
		ip, family, n = a.ip.To4(), 0x01, net.IPv4len
	}
	if ip == nil {
		return fmt.Errorf("xor address %s: not an address of that family", a.ip)
	}
	v := make([]byte, 4+n)
	v[1] = family
	binary.BigEndian.PutUint16(v[2:4], uint16(a.port)^uint16(magicCookie>>16))
	var x [16]byte
	binary.BigEndian.PutUint32(x[0:4], magicCookie)
	copy(x[4:], m.TransactionID[:])
	for i := range n {
		v[4+i] = ip[i] ^ x[i]
	}
	m.Add(a.t, v)
	return nil
}

// peerAddr is XOR-PEER-ADDRESS in the address's natural family.
func peerAddr(ip net.IP, port int) xorAddr {
	return xorAddr{t: stun.AttrXORPeerAddress, ip: ip, port: port, v6: ip.To4() == nil}
}

func u32(v uint32) []byte { b := make([]byte, 4); binary.BigEndian.PutUint32(b, v); return b }

// Transport protocol numbers of REQUESTED-TRANSPORT (RFC 8656 §18.7).
const (
	protoUDP = 17
	protoTCP = 6
)

func requestedTransport(p byte) attr { return attr{stun.AttrRequestedTransport, []byte{p, 0, 0, 0}} }
func lifetime(s uint32) attr         { return attr{stun.AttrLifetime, u32(s)} }
func channelNumber(ch uint16) attr {
	return attr{stun.AttrChannelNumber, []byte{byte(ch >> 8), byte(ch), 0, 0}}
}

// session is one client of the TURN server under test: a transport, the
// long-term credential state (RFC 8489 §9.2) and, once allocated, the
// relayed address.
type session struct {
	c       *conn
	e       *env
	realm   string
	nonce   string
	key     stun.MessageIntegrity
	relay   *net.UDPAddr
	mapped  *net.UDPAddr
	timeout time.Duration
}

func (e *env) newSession(ctx context.Context) (*session, error) {
	c, err := dial(ctx, e.t.Transport, e.t.Addr, e.t.TLSConfig)
	if err != nil {
		return nil, err
	}
	s := &session{c: c, e: e, timeout: e.t.Timeout}
	e.closers = append(e.closers, s.close)
	return s, nil
}

func (s *session) close() {
	if s.relay != nil {
		// Free the allocation so quotas do not fill up across checks.
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		_, _ = s.request(ctx, stun.MethodRefresh, lifetime(0))
		cancel()
		s.relay = nil
	}
	_ = s.c.Close()
}

// build makes a request of method with attrs, authenticated once the
// session knows realm and nonce.
func (s *session) build(method stun.Method, class stun.MessageClass, attrs ...stun.Setter) (*stun.Message, error) {
	setters := []stun.Setter{stun.TransactionID, stun.NewType(method, class)}
	setters = append(setters, attrs...)
	if s.key != nil && class == stun.ClassRequest {
		user, _ := s.e.credentials()
		setters = append(setters, stun.NewUsername(user), stun.NewRealm(s.realm), stun.NewNonce(s.nonce), s.key)
	}
	setters = append(setters, stun.Fingerprint)
	return stun.Build(setters...)
}

// request sends an authenticated request (learning realm and nonce from a
// 401 or 438 first, RFC 8489 §9.2.5) and returns the final response.
func (s *session) request(ctx context.Context, method stun.Method, attrs ...stun.Setter) (*stun.Message, error) {
	for range 3 {
		req, err := s.build(method, stun.ClassRequest, attrs...)
		if err != nil {
			return nil, err
		}
		res, err := s.c.roundTrip(ctx, req, s.timeout)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		code, _ := errorCode(res)
		if code != 401 && code != 438 {
			return res, nil
		}
		var realm stun.Realm
		var nonce stun.Nonce
		if realm.GetFrom(res) != nil || nonce.GetFrom(res) != nil {
			return res, nil
		}
		if code == 401 && s.key != nil && s.realm == realm.String() && s.nonce == nonce.String() {
			return res, nil // the credentials themselves were refused
		}
		s.realm, s.nonce = realm.String(), nonce.String()
		user, password := s.e.credentials()
		s.key = stun.NewLongTermIntegrity(user, s.realm, password)
	}
	return nil, fmt.Errorf("%s: the server kept asking for credentials", method)
}

// allocate makes a UDP allocation (RFC 8656 §7.1) and checks the success
// response's MESSAGE-INTEGRITY.
func (s *session) allocate(ctx context.Context, extra ...stun.Setter) (*stun.Message, error) {
	res, err := s.request(ctx, stun.MethodAllocate, append([]stun.Setter{requestedTransport(protoUDP)}, extra...)...)
	if err != nil {
		return nil, err
	}
	if res.Type.Class != stun.ClassSuccessResponse {
		return res, nil
	}
	if err := s.key.Check(res); err != nil {
		return res, fmt.Errorf("allocate: success response fails MESSAGE-INTEGRITY: %w", err)
	}
	var relay stun.XORMappedAddress
	if err := relay.GetFromAs(res, stun.AttrXORRelayedAddress); err != nil {
		return res, fmt.Errorf("allocate: success without XOR-RELAYED-ADDRESS: %w", err)
	}
	s.relay = &net.UDPAddr{IP: relay.IP, Port: relay.Port}
	var mapped stun.XORMappedAddress
	if mapped.GetFrom(res) == nil {
		s.mapped = &net.UDPAddr{IP: mapped.IP, Port: mapped.Port}
	}
	return res, nil
}

// mustAllocate is allocate for checks that need an allocation to start:
// anything else is an error of the check's precondition.
func (s *session) mustAllocate(ctx context.Context) error {
	res, err := s.allocate(ctx)
	if err != nil {
		return err
	}
	if res.Type.Class != stun.ClassSuccessResponse {
		return fmt.Errorf("allocate refused: %s", describe(res))
	}
	return nil
}

// send is a Send indication (RFC 8656 §11.1) carrying data to peer.
func (s *session) send(peer *net.UDPAddr, data []byte, v6 bool) error {
	m, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		xorAddr{t: stun.AttrXORPeerAddress, ip: peer.IP, port: peer.Port, v6: v6},
		attr{stun.AttrData, data}, stun.Fingerprint)
	if err != nil {
		return err
	}
	return s.c.write(m.Raw)
}

// channelData sends a ChannelData message (RFC 8656 §12.4), padded on
// streams (§12.5).
func (s *session) channelData(ch uint16, data []byte) error {
	n := 4 + len(data)
	if s.c.stream {
		n = 4 + (len(data)+3)&^3
	}
	b := make([]byte, n)
	binary.BigEndian.PutUint16(b[0:2], ch)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(data)))
	copy(b[4:], data)
	return s.c.write(b)
}

// received waits for data from the relay: a Data indication (RFC 8656
// §11.4) or ChannelData, whose payload equals want. It returns the peer
// address of a Data indication, or the channel number.
func (s *session) received(want []byte, wait time.Duration) (peer *net.UDPAddr, ch uint16, ok bool) {
	_, err := s.c.waitFor(wait, func(b []byte) bool {
		if len(b) >= 4 && b[0]&0xC0 == 0x40 {
			l := int(binary.BigEndian.Uint16(b[2:4]))
			if 4+l <= len(b) && string(b[4:4+l]) == string(want) {
				ch = binary.BigEndian.Uint16(b[0:2])
				return true
			}
			return false
		}
		m := &stun.Message{Raw: b}
		if m.Decode() != nil || m.Type != stun.NewType(stun.MethodData, stun.ClassIndication) {
			return false
		}
		d, err := m.Get(stun.AttrData)
		if err != nil || string(d) != string(want) {
			return false
		}
		var pa stun.XORMappedAddress
		if pa.GetFromAs(m, stun.AttrXORPeerAddress) == nil {
			peer = &net.UDPAddr{IP: pa.IP, Port: pa.Port}
		}
		return true
	})
	return peer, ch, err == nil
}

// magicCookie is the fixed cookie of every STUN message (RFC 8489 §5).
const magicCookie = 0x2112A442
