package stunserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/pion/stun/v3"
	"github.com/pion/transport/v3"
)

// Software is sent in the SOFTWARE attribute of every response.
const Software = "rtclab stunserver"

// Config declares a responder. Net and Primary are required.
type Config struct {
	// Net is the network to listen on (stdnet for the real stack, a vnet
	// host in an emulated network).
	Net transport.Net
	// Primary is the primary address "ip:port". Port 0 picks a free port.
	Primary string
	// Alternate is the alternate address "ip:port": a second IP address of
	// this host and a second port. Port 0 picks a free port. Empty means no
	// RFC 5780 support (plain STUN on Primary only).
	Alternate string
	// Logger receives malformed packets and send errors; nil discards.
	Logger *slog.Logger
}

// Server is a running responder.
type Server struct {
	// conns[i][p]: i is 0 for the primary IP, 1 for the alternate one; p is
	// 0 for the primary port, 1 for the alternate one. Only conns[0][0] is
	// set without an alternate address.
	conns [2][2]net.PacketConn
	other *net.UDPAddr
	log   *slog.Logger
	wg    sync.WaitGroup
}

// ErrConfig is wrapped by every configuration error of New.
var ErrConfig = errors.New("stunserver config")

// bindAttempts bounds the search for a port free on both IP addresses.
const bindAttempts = 20

// New opens the sockets and starts answering.
func New(cfg Config) (*Server, error) {
	if cfg.Net == nil || cfg.Primary == "" {
		return nil, fmt.Errorf("%w: Net and Primary are required", ErrConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{log: log}
	ip1, p1, err := splitAddr(cfg.Primary)
	if err != nil {
		return nil, err
	}
	if cfg.Alternate == "" {
		c, err := cfg.Net.ListenPacket("udp4", net.JoinHostPort(ip1, strconv.Itoa(p1)))
		if err != nil {
			return nil, fmt.Errorf("stunserver listen %s: %w", cfg.Primary, err)
		}
		s.conns[0][0] = c
	} else {
		ip2, p2, err := splitAddr(cfg.Alternate)
		if err != nil {
			return nil, err
		}
		if ip1 == ip2 {
			return nil, fmt.Errorf("%w: the alternate address needs a second IP address, got %s twice", ErrConfig, ip1)
		}
		if p1 != 0 && p1 == p2 {
			return nil, fmt.Errorf("%w: the alternate address needs a second port, got %d twice", ErrConfig, p1)
		}
		// Each port must be open on both IP addresses.
		for pi, port := range []int{p1, p2} {
			pair, err := listenPair(cfg.Net, ip1, ip2, port, s.conns[0][0])
			if err != nil {
				s.closeAll()
				return nil, err
			}
			s.conns[0][pi], s.conns[1][pi] = pair[0], pair[1]
		}
		s.other = s.conns[1][1].LocalAddr().(*net.UDPAddr)
	}
	for i := range s.conns {
		for p := range s.conns[i] {
			if c := s.conns[i][p]; c != nil {
				s.wg.Add(1)
				go s.serve(i, p)
			}
		}
	}
	return s, nil
}

// listenPair opens the same UDP port on ip1 and ip2. Port 0 picks one that
// is free on both and differs from the port of avoid.
func listenPair(n transport.Net, ip1, ip2 string, port int, avoid net.PacketConn) ([2]net.PacketConn, error) {
	var lastErr error
	for range bindAttempts {
		a, err := n.ListenPacket("udp4", net.JoinHostPort(ip1, strconv.Itoa(port)))
		if err != nil {
			return [2]net.PacketConn{}, fmt.Errorf("stunserver listen %s:%d: %w", ip1, port, err)
		}
		got := a.LocalAddr().(*net.UDPAddr).Port
		if avoid != nil && avoid.LocalAddr().(*net.UDPAddr).Port == got {
			_ = a.Close()
			continue
		}
		b, err := n.ListenPacket("udp4", net.JoinHostPort(ip2, strconv.Itoa(got)))
		if err == nil {
			return [2]net.PacketConn{a, b}, nil
		}
		_ = a.Close()
		lastErr = fmt.Errorf("stunserver listen %s:%d: %w", ip2, got, err)
		if port != 0 {
			break
		}
	}
	return [2]net.PacketConn{}, lastErr
}

func splitAddr(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%w: address %q: %w", ErrConfig, addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%w: address %q: bad port", ErrConfig, addr)
	}
	if ip := net.ParseIP(host); ip == nil || ip.To4() == nil {
		return "", 0, fmt.Errorf("%w: address %q: want an IPv4 address", ErrConfig, addr)
	}
	return host, port, nil
}

// Primary is the primary address.
func (s *Server) Primary() *net.UDPAddr { return s.conns[0][0].LocalAddr().(*net.UDPAddr) }

// Other is the alternate address (OTHER-ADDRESS), nil without RFC 5780.
func (s *Server) Other() *net.UDPAddr { return s.other }

// Close stops answering and closes every socket.
func (s *Server) Close() error {
	err := s.closeAll()
	s.wg.Wait()
	return err
}

func (s *Server) closeAll() error {
	var errs []error
	for i := range s.conns {
		for p := range s.conns[i] {
			if c := s.conns[i][p]; c != nil {
				errs = append(errs, c.Close())
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Server) serve(i, p int) {
	defer s.wg.Done()
	c := s.conns[i][p]
	// A whole datagram: requests larger than an Ethernet MTU (PADDING,
	// RFC 5780 §7.6) were cut at 1,500 bytes and never answered.
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		if !stun.IsMessage(buf[:n]) {
			continue
		}
		req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if err := req.Decode(); err != nil || req.Type != stun.BindingRequest {
			continue
		}
		// RFC 8489 §7: a FINGERPRINT that does not match is discarded.
		if req.Contains(stun.AttrFingerprint) && stun.Fingerprint.Check(req) != nil {
			continue
		}
		out, oi, op := s.answer(req, from.(*net.UDPAddr), i, p)
		if out == nil {
			continue
		}
		if _, err := s.conns[oi][op].WriteTo(out.Raw, from); err != nil {
			s.log.Debug("stunserver: send", "to", from.String(), "err", err)
		}
	}
}

// Change flags of CHANGE-REQUEST, RFC 5780 §7.2.
const (
	changeIP   = 0x4
	changePort = 0x2
)

// answer builds the response to req received on conns[i][p] from "from"
// and says which socket must send it.
func (s *Server) answer(req *stun.Message, from *net.UDPAddr, i, p int) (*stun.Message, int, int) {
	oi, op := i, p
	// RFC 8489 §6.3.1: unknown comprehension-required attributes get 420.
	if unknown := s.unknownRequired(req); len(unknown) > 0 {
		return errorResponse(req, stun.CodeUnknownAttribute, unknown), i, p
	}
	if v, err := req.Get(stun.AttrChangeRequest); err == nil {
		if len(v) != 4 {
			return errorResponse(req, stun.CodeBadRequest, nil), i, p
		}
		if v[3]&changeIP != 0 {
			oi = 1 - i
		}
		if v[3]&changePort != 0 {
			op = 1 - p
		}
	}
	origin := s.conns[oi][op].LocalAddr().(*net.UDPAddr)
	setters := []stun.Setter{
		stun.NewTransactionIDSetter(req.TransactionID),
		stun.BindingSuccess,
		&stun.XORMappedAddress{IP: from.IP, Port: from.Port},
		&stun.MappedAddress{IP: from.IP, Port: from.Port},
		&stun.ResponseOrigin{IP: origin.IP, Port: origin.Port},
	}
	if s.other != nil {
		// RFC 5780 §7.4: the address a "change IP and port" answer to a
		// request sent where this one was would come from: relative to
		// the receiving socket, so a request to the alternate address
		// learns the primary one (it always named the alternate).
		other := s.conns[1-i][1-p].LocalAddr().(*net.UDPAddr)
		setters = append(setters, &stun.OtherAddress{IP: other.IP, Port: other.Port})
	}
	setters = append(setters, stun.NewSoftware(Software), stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		s.log.Debug("stunserver: build response", "err", err)
		return nil, 0, 0
	}
	return m, oi, op
}

// maxDatagram is the largest UDP payload.
const maxDatagram = 64 * 1024

// understood are the comprehension-required attributes (0x0000-0x7FFF) a
// Binding request may carry that this responder accepts: the RFC 8489
// ones it can ignore without authenticating (it does not use
// credentials), and ICE's (RFC 8445 §16.1). CHANGE-REQUEST is added when
// the responder has an alternate address.
var understood = map[stun.AttrType]bool{
	stun.AttrMappedAddress: true, stun.AttrUsername: true, stun.AttrMessageIntegrity: true,
	stun.AttrErrorCode: true, stun.AttrUnknownAttributes: true, stun.AttrRealm: true,
	stun.AttrNonce: true, stun.AttrXORMappedAddress: true, stun.AttrMessageIntegritySHA256: true,
	stun.AttrPasswordAlgorithm: true, stun.AttrUserhash: true,
	stun.AttrPriority: true, stun.AttrUseCandidate: true,
}

// unknownRequired lists req's comprehension-required attributes this
// responder does not implement (PADDING and RESPONSE-PORT of RFC 5780
// among them).
func (s *Server) unknownRequired(req *stun.Message) []stun.AttrType {
	var out []stun.AttrType
	for _, a := range req.Attributes {
		if a.Type >= 0x8000 || understood[a.Type] || (a.Type == stun.AttrChangeRequest && s.other != nil) {
			continue
		}
		out = append(out, a.Type)
	}
	return out
}

func errorResponse(req *stun.Message, code stun.ErrorCode, unknown []stun.AttrType) *stun.Message {
	setters := []stun.Setter{
		stun.NewTransactionIDSetter(req.TransactionID),
		stun.NewType(stun.MethodBinding, stun.ClassErrorResponse),
		code,
	}
	if len(unknown) > 0 {
		setters = append(setters, stun.UnknownAttributes(unknown))
	}
	setters = append(setters, stun.NewSoftware(Software), stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		return nil
	}
	return m
}
