package conform

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/pion/stun/v3"
)

func rfc5780Checks() []Check {
	return []Check{
		// Testname: rfc5780-other-address
		// Description: A server that claims RFC 5780 (OTHER-ADDRESS in its
		// Binding response) MUST include RESPONSE-ORIGIN, equal to the
		// address the response was sent from, and OTHER-ADDRESS MUST differ
		// from it in both IP address and port.
		{
			ID: "rfc5780-other-address", Section: "RFC 5780 §7.3, §7.4", Level: Must, Labels: []string{"rfc5780"},
			Summary: "OTHER-ADDRESS and RESPONSE-ORIGIN consistent",
			Run:     func(ctx context.Context, e *env) Outcome { return checkOtherAddress(ctx, e, false) },
		},
		// Testname: rfc5780-change-request
		// Description: A Binding request with CHANGE-REQUEST "change IP and
		// port" MUST be answered from OTHER-ADDRESS, and "change port" from
		// the same IP address and the other port; RESPONSE-ORIGIN MUST name
		// the address each answer came from.
		{
			ID: "rfc5780-change-request", Section: "RFC 5780 §6.1, §7.2", Level: Must, Labels: []string{"rfc5780"},
			Summary: "CHANGE-REQUEST answered from the changed address",
			Run:     checkChangeRequest,
		},
		// Testname: rfc5780-alternate-other-address
		// Description: A Binding request sent to the alternate address MUST
		// be answered with an OTHER-ADDRESS naming the address a "change IP
		// and port" answer would come from, so it MUST differ from that
		// response's RESPONSE-ORIGIN in IP address and port.
		{
			ID: "rfc5780-alternate-other-address", Section: "RFC 5780 §7.4", Level: Must, Labels: []string{"rfc5780"},
			Summary: "OTHER-ADDRESS correct in answers from the alternate address",
			Run:     func(ctx context.Context, e *env) Outcome { return checkOtherAddress(ctx, e, true) },
		},
	}
}

// udpBinding sends a Binding request from an unconnected socket to dst and
// returns the response with the address it came from.
func (e *env) udpBinding(ctx context.Context, pc net.PacketConn, dst *net.UDPAddr, attrs ...stun.Setter) (*stun.Message, *net.UDPAddr, error) {
	req, err := stun.Build(append([]stun.Setter{stun.TransactionID, stun.BindingRequest}, attrs...)...)
	if err != nil {
		return nil, nil, err
	}
	buf := make([]byte, 64*1024)
	for range 3 {
		if _, err := pc.WriteTo(req.Raw, dst); err != nil {
			return nil, nil, err
		}
		end := time.Now().Add(e.t.Timeout / 3)
		for {
			_ = pc.SetReadDeadline(end)
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if m.Decode() == nil && m.TransactionID == req.TransactionID {
				return m, from.(*net.UDPAddr), nil
			}
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
	}
	return nil, nil, nil
}

// rfc5780Start resolves the target, opens an unconnected UDP socket and
// reads OTHER-ADDRESS from a first Binding; ok is false (with the outcome
// to return) when the check cannot go on.
func (e *env) rfc5780Start(ctx context.Context) (net.PacketConn, *net.UDPAddr, *net.UDPAddr, Outcome, bool) {
	if e.t.Transport != "udp" {
		return nil, nil, nil, skip("RFC 5780 discovery runs over UDP; this URL is %s", e.t.Transport), false
	}
	dst, err := net.ResolveUDPAddr("udp", e.t.Addr)
	if err != nil {
		return nil, nil, nil, broken(err), false
	}
	pc, err := net.ListenPacket("udp", ":0")
	if err != nil {
		return nil, nil, nil, broken(err), false
	}
	e.closers = append(e.closers, func() { _ = pc.Close() })
	res, _, err := e.udpBinding(ctx, pc, dst)
	if err != nil {
		return nil, nil, nil, broken(err), false
	}
	if res == nil || res.Type != stun.BindingSuccess {
		return nil, nil, nil, broken(fmt.Errorf("plain Binding got %s", describe(res))), false
	}
	var other stun.OtherAddress
	if other.GetFrom(res) != nil {
		return nil, nil, nil, unsupported("no OTHER-ADDRESS: the server does not claim RFC 5780"), false
	}
	return pc, dst, &net.UDPAddr{IP: other.IP, Port: other.Port}, Outcome{}, true
}

func checkOtherAddress(ctx context.Context, e *env, alternate bool) Outcome {
	pc, dst, other, o, ok := e.rfc5780Start(ctx)
	if !ok {
		return o
	}
	if alternate {
		dst = other
	}
	res, from, err := e.udpBinding(ctx, pc, dst)
	if err != nil {
		return broken(err)
	}
	if res == nil || res.Type != stun.BindingSuccess {
		return fail("Binding to %s got %s", dst, describe(res))
	}
	var origin stun.ResponseOrigin
	if origin.GetFrom(res) != nil {
		return fail("no RESPONSE-ORIGIN")
	}
	if !origin.IP.Equal(from.IP) || origin.Port != from.Port {
		return fail("RESPONSE-ORIGIN %s:%d, but the answer came from %s", origin.IP, origin.Port, from)
	}
	var oa stun.OtherAddress
	if oa.GetFrom(res) != nil {
		return fail("answer from %s has no OTHER-ADDRESS", from)
	}
	if oa.IP.Equal(from.IP) || oa.Port == from.Port {
		// Where does a "change IP and port" answer from here come from?
		res, changed, err := e.udpBinding(ctx, pc, dst, attr{stun.AttrChangeRequest, []byte{0, 0, 0, 0x06}})
		said := "no answer"
		if err == nil && res != nil {
			said = "answered from " + changed.String()
		}
		return fail("answer from %s names OTHER-ADDRESS %s:%d (must differ in IP and port); CHANGE-REQUEST IP+port sent there: %s", from, oa.IP, oa.Port, said)
	}
	return pass("answer from %s, OTHER-ADDRESS %s:%d", from, oa.IP, oa.Port)
}

func checkChangeRequest(ctx context.Context, e *env) Outcome {
	pc, dst, other, o, ok := e.rfc5780Start(ctx)
	if !ok {
		return o
	}
	for _, c := range []struct {
		flags byte
		want  *net.UDPAddr
		name  string
	}{
		{0x06, other, "change IP and port"},
		{0x02, &net.UDPAddr{IP: dst.IP, Port: other.Port}, "change port"},
	} {
		res, from, err := e.udpBinding(ctx, pc, dst, attr{stun.AttrChangeRequest, []byte{0, 0, 0, c.flags}})
		if err != nil {
			return broken(err)
		}
		if res == nil || res.Type != stun.BindingSuccess {
			return fail("%s: got %s", c.name, describe(res))
		}
		if !from.IP.Equal(c.want.IP) || from.Port != c.want.Port {
			return fail("%s: answered from %s, want %s", c.name, from, c.want)
		}
		var origin stun.ResponseOrigin
		if origin.GetFrom(res) != nil || !origin.IP.Equal(from.IP) || origin.Port != from.Port {
			return fail("%s: RESPONSE-ORIGIN does not name %s", c.name, from)
		}
	}
	return pass("answered from %s and %s:%d", other, dst.IP, other.Port)
}
