package conform

import (
	"context"
	"encoding/binary"
	"net"
	"slices"
	"time"

	"github.com/pion/stun/v3"
)

// Checks is the catalogue, in the order the runner prints it. The comment
// above each entry (Testname, Description) is extracted into
// conformance.yaml.
func Checks() []Check {
	var all []Check
	for _, part := range [][]Check{stunChecks(), rfc5780Checks(), turnChecks(), extensionChecks(), securityChecks()} {
		all = append(all, part...)
	}
	return all
}

func stunChecks() []Check {
	return []Check{
		// Testname: stun-binding
		// Description: A Binding request MUST be answered with a Binding
		// success response carrying XOR-MAPPED-ADDRESS, which MUST equal the
		// client's source transport address when no NAT is in between.
		{
			ID: "stun-binding", Section: "RFC 8489 §6.3.1, §14.2", Level: Must, Labels: []string{"stun"},
			Summary: "Binding answered with XOR-MAPPED-ADDRESS",
			Run:     checkBinding,
		},
		// Testname: stun-bad-fingerprint
		// Description: A request whose FINGERPRINT does not match MUST NOT
		// be answered with a success response (it is discarded, or rejected
		// with 400).
		{
			ID: "stun-bad-fingerprint", Section: "RFC 8489 §7, §14.7", Level: Must, Labels: []string{"stun"},
			Summary: "request with a bad FINGERPRINT not answered with success",
			Run:     checkBadFingerprint,
		},
		// Testname: stun-unknown-required
		// Description: A request with an unknown comprehension-required
		// attribute (0x0030) MUST be answered with 420 (Unknown Attribute)
		// listing it in UNKNOWN-ATTRIBUTES.
		{
			ID: "stun-unknown-required", Section: "RFC 8489 §6.3.1, §14.13", Level: Must, Labels: []string{"stun"},
			Summary: "unknown comprehension-required attribute -> 420 + UNKNOWN-ATTRIBUTES",
			Run:     checkUnknownRequired,
		},
		// Testname: stun-unknown-optional
		// Description: An unknown comprehension-optional attribute (0x8030)
		// MUST be ignored: the request is answered with success.
		{
			ID: "stun-unknown-optional", Section: "RFC 8489 §6.3.1", Level: Must, Labels: []string{"stun"},
			Summary: "unknown comprehension-optional attribute ignored",
			Run:     checkUnknownOptional,
		},
		// Testname: stun-malformed
		// Description: Malformed messages (truncated header, wrong length,
		// attribute overrunning the message, bad magic cookie) MUST be
		// ignored or answered with 400, never with success, and the server
		// MUST keep answering well-formed requests afterwards.
		{
			ID: "stun-malformed", Section: "RFC 8489 §6.3", Level: Must, Labels: []string{"stun"},
			Summary: "malformed requests ignored or 400, server still answers",
			Run:     checkMalformed,
		},
		// Testname: stun-large-request
		// Description: A Binding request of 1,600 bytes (a PADDING attribute,
		// RFC 5780 §7.6) SHOULD be answered: with success by a server that
		// implements PADDING, with 420 by one that does not; silence means
		// the server cannot read requests larger than an Ethernet MTU.
		{
			ID: "stun-large-request", Section: "RFC 8489 §6.3, RFC 5780 §7.6", Level: Should, Labels: []string{"stun"},
			Summary: "1,600-byte request answered",
			Run:     checkLargeRequest,
		},
	}
}

// binding sends a Binding request with attrs over a fresh transport.
func (e *env) binding(ctx context.Context, attrs ...stun.Setter) (*stun.Message, *conn, error) {
	c, err := dial(ctx, e.t.Transport, e.t.Addr, e.t.TLSConfig)
	if err != nil {
		return nil, nil, err
	}
	e.closers = append(e.closers, func() { _ = c.Close() })
	req, err := stun.Build(append([]stun.Setter{stun.TransactionID, stun.BindingRequest}, attrs...)...)
	if err != nil {
		return nil, c, err
	}
	res, err := c.roundTrip(ctx, req, e.t.Timeout)
	if err == errTimeout {
		return nil, c, nil
	}
	return res, c, err
}

func checkBinding(ctx context.Context, e *env) Outcome {
	res, c, err := e.binding(ctx, stun.Fingerprint)
	if err != nil {
		return broken(err)
	}
	if res == nil {
		return fail("no answer")
	}
	if res.Type != stun.BindingSuccess {
		return fail("answered %s", describe(res))
	}
	var xma stun.XORMappedAddress
	if err := xma.GetFrom(res); err != nil {
		return fail("success without XOR-MAPPED-ADDRESS")
	}
	if res.Contains(stun.AttrFingerprint) {
		if err := stun.Fingerprint.Check(res); err != nil {
			return fail("response FINGERPRINT does not match: %v", err)
		}
	}
	local := c.LocalAddr()
	lip, lport := addrIPPort(local)
	if lip.IsLoopback() && (!xma.IP.Equal(lip) || xma.Port != lport) {
		return fail("XOR-MAPPED-ADDRESS %s, but the request came from %s", xma.String(), local)
	}
	return pass("XOR-MAPPED-ADDRESS %s over %s", xma.String(), e.t.Transport)
}

func addrIPPort(a net.Addr) (net.IP, int) {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.IP, a.Port
	case *net.TCPAddr:
		return a.IP, a.Port
	}
	return nil, 0
}

// badFingerprint corrupts the FINGERPRINT attribute's value.
type badFingerprint struct{}

func (badFingerprint) AddTo(m *stun.Message) error {
	if err := stun.Fingerprint.AddTo(m); err != nil {
		return err
	}
	m.Raw[len(m.Raw)-1] ^= 0xFF
	return nil
}

func checkBadFingerprint(ctx context.Context, e *env) Outcome {
	res, _, err := e.binding(ctx, badFingerprint{})
	if err != nil {
		return broken(err)
	}
	if res == nil {
		return pass("discarded")
	}
	if code, _ := errorCode(res); res.Type.Class == stun.ClassErrorResponse && code == 400 {
		return pass("rejected with 400")
	}
	return fail("answered %s", describe(res))
}

func checkUnknownRequired(ctx context.Context, e *env) Outcome {
	const unknown = stun.AttrType(0x0030)
	res, _, err := e.binding(ctx, attr{unknown, []byte{1, 2, 3, 4}}, stun.Fingerprint)
	if err != nil {
		return broken(err)
	}
	if res == nil {
		return fail("no answer")
	}
	if code, _ := errorCode(res); res.Type.Class != stun.ClassErrorResponse || code != 420 {
		return fail("answered %s", describe(res))
	}
	// The value is a list of 16-bit types (RFC 8489 §14.13); its length
	// need not be a multiple of 4, which pion's decoder insists on.
	ua, err := res.Get(stun.AttrUnknownAttributes)
	var listed []stun.AttrType
	for i := 0; err == nil && i+2 <= len(ua); i += 2 {
		listed = append(listed, stun.AttrType(ua[i])<<8|stun.AttrType(ua[i+1]))
	}
	if !slices.Contains(listed, unknown) {
		return fail("420 without 0x0030 in UNKNOWN-ATTRIBUTES")
	}
	return pass("420 listing 0x0030")
}

func checkUnknownOptional(ctx context.Context, e *env) Outcome {
	res, _, err := e.binding(ctx, attr{0x8030, []byte{1, 2, 3, 4}}, stun.Fingerprint)
	if err != nil {
		return broken(err)
	}
	if res == nil {
		return fail("no answer")
	}
	if res.Type != stun.BindingSuccess {
		return fail("answered %s", describe(res))
	}
	return pass("success")
}

// malformed are the broken messages of checkMalformed, by name.
func malformed() []struct {
	name string
	b    []byte
} {
	good, _ := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewSoftware("rtclab conform"))
	truncated := append([]byte(nil), good.Raw[:12]...)
	wrongLen := append([]byte(nil), good.Raw...)
	binary.BigEndian.PutUint16(wrongLen[2:4], uint16(len(good.Raw)-20+8))
	overrun := append([]byte(nil), good.Raw...)
	binary.BigEndian.PutUint16(overrun[22:24], 400) // SOFTWARE length past the end
	badCookie := append([]byte(nil), good.Raw...)
	badCookie[4] ^= 0xFF
	return []struct {
		name string
		b    []byte
	}{
		{"truncated header", truncated},
		{"length field too large", wrongLen},
		{"attribute overrunning the message", overrun},
		{"bad magic cookie", badCookie},
	}
}

func checkMalformed(ctx context.Context, e *env) Outcome {
	for _, m := range malformed() {
		c, err := dial(ctx, e.t.Transport, e.t.Addr, e.t.TLSConfig)
		if err != nil {
			return broken(err)
		}
		e.closers = append(e.closers, func() { _ = c.Close() })
		if err := c.write(m.b); err != nil {
			return broken(err)
		}
		if !c.stream { // on a stream the broken framing ends the connection
			b, err := c.read(time.Now().Add(e.t.Timeout / 2))
			if err == nil && stun.IsMessage(b) {
				r := &stun.Message{Raw: b}
				if r.Decode() == nil && r.Type.Class == stun.ClassSuccessResponse {
					return fail("%s answered with success", m.name)
				}
			}
		}
	}
	res, _, err := e.binding(ctx)
	if err != nil {
		return broken(err)
	}
	if res == nil || res.Type != stun.BindingSuccess {
		return fail("after the malformed messages a good Binding got %s", describe(res))
	}
	return pass("%d malformed messages ignored or refused; still answering", len(malformed()))
}

func checkLargeRequest(ctx context.Context, e *env) Outcome {
	res, _, err := e.binding(ctx, attr{stun.AttrPadding, make([]byte, 1580)}, stun.Fingerprint)
	if err != nil {
		return broken(err)
	}
	if res == nil {
		return fail("no answer to a %d-byte request", 20+4+1580+8)
	}
	if res.Type == stun.BindingSuccess {
		return pass("success")
	}
	if code, _ := errorCode(res); code == 420 {
		return pass("420 (PADDING not implemented)")
	}
	return fail("answered %s", describe(res))
}
