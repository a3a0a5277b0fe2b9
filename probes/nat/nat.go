package nat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pion/stun/v3"
	"github.com/pion/transport/v3"
)

// Params says where to probe from and to.
type Params struct {
	// Net is the network to probe on (required).
	Net transport.Net
	// Server is the STUN server's primary address "host:port" (required).
	Server string
	// Timeout bounds one test (all its retransmissions); 0 means 1 s. A
	// filtering test that gets no answer takes the whole Timeout.
	Timeout time.Duration
}

// Result is what the RFC 5780 tests found.
type Result struct {
	// Server is the STUN server address that was probed.
	Server string `json:"server"`
	// Reachable says whether the server answered a plain Binding request.
	Reachable bool `json:"reachable"`
	// RTTMs is the round-trip time of the first answered Binding request.
	RTTMs float64 `json:"rtt_ms"`
	// Local is the local address the probe socket was bound to.
	Local string `json:"local"`
	// Mapped is the server-reflexive address (XOR-MAPPED-ADDRESS).
	Mapped string `json:"mapped"`
	// OtherAddress is the server's alternate address (OTHER-ADDRESS); empty
	// when the server does not support RFC 5780.
	OtherAddress string `json:"other_address,omitempty"`
	// Natted is true when the mapped address differs from the local one.
	Natted bool `json:"natted"`
	// Mapping is the mapping behaviour (RFC 5780 §4.3).
	Mapping Behavior `json:"mapping"`
	// Filtering is the filtering behaviour (RFC 5780 §4.4).
	Filtering Behavior `json:"filtering"`
	// Type is the common name of the NAT (full cone ... symmetric).
	Type Type `json:"type"`
	// Reason says why a behaviour is inconclusive; empty otherwise.
	Reason string `json:"reason,omitempty"`
}

// ErrParams is returned when Params lacks a required field.
var ErrParams = errors.New("nat: Net and Server are required")

// Discover runs the mapping tests and, on a second socket, the filtering
// tests (a fresh mapping, so that the mapping tests' own outbound packets do
// not open the filter). An unreachable server or a server without RFC 5780
// is a result, not an error; an error means no socket could be opened.
func Discover(ctx context.Context, p Params) (Result, error) {
	if p.Net == nil || p.Server == "" {
		return Result{}, ErrParams
	}
	if p.Timeout <= 0 {
		p.Timeout = time.Second
	}
	res := Result{Server: p.Server, Mapping: Inconclusive, Filtering: Inconclusive, Type: Unknown}
	server, err := p.Net.ResolveUDPAddr("udp4", p.Server)
	if err != nil {
		res.Reason = fmt.Sprintf("cannot resolve %s: %v", p.Server, err)
		return res, nil
	}
	mapConn, err := listen(p.Net, server)
	if err != nil {
		return res, err
	}
	defer mapConn.Close()
	filtConn, err := listen(p.Net, server)
	if err != nil {
		return res, err
	}
	defer filtConn.Close()

	var (
		wg                    sync.WaitGroup
		filtering             Behavior
		filtReason            string
		filtLocal, filtMapped *net.UDPAddr
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		filtering, filtLocal, filtMapped, filtReason = filteringTests(ctx, filtConn, server, p.Timeout)
	}()
	mapping, mres, mapReason := mappingTests(ctx, mapConn, server, p.Timeout)
	wg.Wait()

	res.Reachable = mres.reachable
	res.RTTMs = float64(mres.rtt.Microseconds()) / 1000
	res.Local = mapConn.LocalAddr().String()
	if mres.mapped != nil {
		res.Mapped = mres.mapped.String()
		res.Natted = !sameAddr(mres.mapped, mapConn.LocalAddr().(*net.UDPAddr))
	} else if filtMapped != nil { // the mapping socket lost its answer, the other did not
		res.Reachable = true
		res.Mapped = filtMapped.String()
		res.Natted = !sameAddr(filtMapped, filtLocal)
	}
	if mres.other != nil {
		res.OtherAddress = mres.other.String()
	}
	res.Mapping, res.Filtering = mapping, filtering
	switch {
	case mapReason != "" && filtReason != "" && mapReason != filtReason:
		res.Reason = "mapping: " + mapReason + "; filtering: " + filtReason
	case mapReason != "":
		res.Reason = mapReason
	case filtReason != "":
		res.Reason = filtReason
	}
	// Without a NAT the mapping is trivially endpoint-independent.
	if res.Reachable && !res.Natted && res.Mapping == Inconclusive && mapReason == reasonNoOther {
		res.Mapping = EndpointIndependent
	}
	if res.Mapping != Inconclusive && res.Filtering != Inconclusive {
		res.Type = CommonName(res.Natted, res.Mapping, res.Filtering)
	} else if res.Natted && (res.Mapping == AddressDependent || res.Mapping == AddressAndPortDependent) {
		res.Type = Symmetric
	}
	return res, nil
}

// listen opens a UDP socket on the local IP address that routes to server,
// so that Local is a concrete address to compare with Mapped.
func listen(n transport.Net, server *net.UDPAddr) (net.PacketConn, error) {
	ip := net.IPv4zero
	if c, err := n.DialUDP("udp4", nil, server); err == nil {
		ip = c.LocalAddr().(*net.UDPAddr).IP
		_ = c.Close()
	}
	pc, err := n.ListenPacket("udp4", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return nil, fmt.Errorf("nat: listen udp: %w", err)
	}
	return pc, nil
}

const (
	reasonNoOther  = "the STUN server sent no OTHER-ADDRESS (it does not support RFC 5780 NAT behaviour discovery)"
	reasonNoAnswer = "the STUN server did not answer"
)

type mappingOutcome struct {
	reachable bool
	rtt       time.Duration
	mapped    *net.UDPAddr
	other     *net.UDPAddr
}

// mappingTests runs RFC 5780 §4.3 tests I, II and III.
func mappingTests(ctx context.Context, c net.PacketConn, server *net.UDPAddr, timeout time.Duration) (Behavior, mappingOutcome, string) {
	var out mappingOutcome
	r1, err := binding(ctx, c, server, 0, timeout)
	if err != nil {
		return Inconclusive, out, reasonNoAnswer
	}
	out.reachable, out.rtt, out.mapped, out.other = true, r1.rtt, r1.mapped, r1.other
	if r1.other == nil {
		return Inconclusive, out, reasonNoOther
	}
	if sameAddr(r1.mapped, c.LocalAddr().(*net.UDPAddr)) {
		return EndpointIndependent, out, ""
	}
	// Test II: the alternate IP address, the primary port.
	r2, err := binding(ctx, c, &net.UDPAddr{IP: r1.other.IP, Port: server.Port}, 0, timeout)
	if err != nil {
		return Inconclusive, out, "no answer from the server's alternate address " + r1.other.IP.String()
	}
	if sameAddr(r2.mapped, r1.mapped) {
		return EndpointIndependent, out, ""
	}
	// Test III: the alternate IP address and the alternate port.
	r3, err := binding(ctx, c, r1.other, 0, timeout)
	if err != nil {
		return Inconclusive, out, "no answer from the server's alternate address " + r1.other.String()
	}
	if sameAddr(r3.mapped, r2.mapped) {
		return AddressDependent, out, ""
	}
	return AddressAndPortDependent, out, ""
}

// Change flags of CHANGE-REQUEST, RFC 5780 §7.2.
const (
	changeIP   = 0x4
	changePort = 0x2
)

// filteringTests runs RFC 5780 §4.4 tests I, II and III.
func filteringTests(ctx context.Context, c net.PacketConn, server *net.UDPAddr, timeout time.Duration) (Behavior, *net.UDPAddr, *net.UDPAddr, string) {
	local := c.LocalAddr().(*net.UDPAddr)
	r1, err := binding(ctx, c, server, 0, timeout)
	if err != nil {
		return Inconclusive, local, nil, reasonNoAnswer
	}
	if r1.other == nil {
		return Inconclusive, local, r1.mapped, reasonNoOther
	}
	// Test II: answer from the alternate IP address and port.
	_, err = binding(ctx, c, server, changeIP|changePort, timeout)
	switch {
	case err == nil:
		return EndpointIndependent, local, r1.mapped, ""
	case errors.Is(err, errRefused):
		return Inconclusive, local, r1.mapped, "the STUN server refused CHANGE-REQUEST: " + err.Error()
	}
	// Test III: answer from the primary IP address, alternate port.
	if _, err = binding(ctx, c, server, changePort, timeout); err == nil {
		return AddressDependent, local, r1.mapped, ""
	}
	return AddressAndPortDependent, local, r1.mapped, ""
}

type bindingResponse struct {
	rtt    time.Duration
	from   *net.UDPAddr
	mapped *net.UDPAddr
	other  *net.UDPAddr
}

var (
	errTimeout = errors.New("no answer")
	errRefused = errors.New("error response")
)

// retransmit is the interval between retransmissions within one test.
const retransmit = 250 * time.Millisecond

// binding sends a Binding request (with CHANGE-REQUEST when change != 0)
// and waits for its answer, retransmitting every 250 ms until timeout. A
// CHANGE-REQUEST answer only counts when it comes from the address asked
// for, so a server that ignores the attribute does not fake open filtering.
func binding(ctx context.Context, c net.PacketConn, to *net.UDPAddr, change byte, timeout time.Duration) (bindingResponse, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	sent := map[[stun.TransactionIDSize]byte]time.Time{}
	buf := make([]byte, 1500)
	for {
		if err := ctx.Err(); err != nil {
			return bindingResponse{}, err
		}
		now := time.Now()
		if !now.Before(deadline) {
			return bindingResponse{}, errTimeout
		}
		setters := []stun.Setter{stun.TransactionID, stun.BindingRequest}
		if change != 0 {
			setters = append(setters, stun.RawAttribute{Type: stun.AttrChangeRequest, Value: []byte{0, 0, 0, change}})
		}
		setters = append(setters, stun.Fingerprint)
		req, err := stun.Build(setters...)
		if err != nil {
			return bindingResponse{}, err
		}
		sent[req.TransactionID] = now
		if _, err := c.WriteTo(req.Raw, to); err != nil {
			return bindingResponse{}, fmt.Errorf("send: %w", err)
		}
		next := now.Add(retransmit)
		if next.After(deadline) {
			next = deadline
		}
		for {
			_ = c.SetReadDeadline(next)
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				break // deadline: retransmit
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if m.Decode() != nil {
				continue
			}
			at, ok := sent[m.TransactionID]
			if !ok {
				continue // a late answer of an earlier test
			}
			if m.Type.Class == stun.ClassErrorResponse {
				var code stun.ErrorCodeAttribute
				_ = code.GetFrom(m)
				return bindingResponse{}, fmt.Errorf("%w: %d %s", errRefused, code.Code, code.Reason)
			}
			fromUDP := from.(*net.UDPAddr)
			if !origin(fromUDP, to, change) {
				continue
			}
			r := bindingResponse{rtt: time.Since(at), from: fromUDP}
			var xor stun.XORMappedAddress
			if xor.GetFrom(m) == nil {
				r.mapped = &net.UDPAddr{IP: xor.IP, Port: xor.Port}
			} else {
				var ma stun.MappedAddress
				if ma.GetFrom(m) != nil {
					continue
				}
				r.mapped = &net.UDPAddr{IP: ma.IP, Port: ma.Port}
			}
			var other stun.OtherAddress
			if other.GetFrom(m) == nil {
				r.other = &net.UDPAddr{IP: other.IP, Port: other.Port}
			}
			_ = c.SetReadDeadline(time.Time{})
			return r, nil
		}
	}
}

// origin checks that an answer comes from where CHANGE-REQUEST asked.
func origin(from, to *net.UDPAddr, change byte) bool {
	sameIP, samePort := from.IP.Equal(to.IP), from.Port == to.Port
	if change&changeIP != 0 && sameIP {
		return false
	}
	if change&changeIP == 0 && !sameIP {
		return false
	}
	if change&changePort != 0 && samePort {
		return false
	}
	if change&changePort == 0 && !samePort {
		return false
	}
	return true
}

func sameAddr(a, b *net.UDPAddr) bool {
	return a != nil && b != nil && a.IP.Equal(b.IP) && a.Port == b.Port
}
