package turnprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v3"
	"github.com/pion/transport/v3"
	"github.com/pion/turn/v4"
)

// Transport is how the client reaches the TURN server.
type Transport string

// Transports of TURN URLs (RFC 7065): turn:...?transport=udp|tcp, turns:.
const (
	UDP Transport = "udp"
	TCP Transport = "tcp"
	TLS Transport = "tls"
)

// Failure names why an allocation failed.
type Failure string

// Failures, from the most to the least actionable.
const (
	// FailTimeout: no answer (UDP or TCP blocked, or the server is down).
	FailTimeout Failure = "timeout"
	// FailRefused: the TCP connection was refused (nothing listens there).
	FailRefused Failure = "refused"
	// FailAuth: the server rejected the credentials (401, 438, 441).
	FailAuth Failure = "auth"
	// FailTLS: the TLS handshake failed (certificate, name, protocol).
	FailTLS Failure = "tls"
	// FailDNS: the server name did not resolve.
	FailDNS Failure = "dns"
	// FailOther: anything else (the message says what).
	FailOther Failure = "error"
)

// Params says which server to allocate on.
type Params struct {
	// Net is the network to probe on (required).
	Net transport.Net
	// URL is a TURN URL (RFC 7065), e.g. "turn:turn.example.com:3478",
	// "turn:turn.example.com:3478?transport=tcp", "turns:turn.example.com:443".
	URL string
	// Username and Password are the long-term credentials.
	Username, Password string
	// TLSConfig is used for turns: URLs; nil means system roots. Its
	// ServerName defaults to the URL's host.
	TLSConfig *tls.Config
	// Timeout bounds the whole allocation; 0 means 3 s.
	Timeout time.Duration
}

// Result is one allocation attempt.
type Result struct {
	// URL is the TURN URL probed (credentials are never included).
	URL string `json:"url"`
	// Transport is udp, tcp or tls.
	Transport Transport `json:"transport"`
	// OK says whether an allocation was made.
	OK bool `json:"ok"`
	// Ms is the time from the first packet (or TCP SYN) to the allocation's
	// success or to the failure.
	Ms float64 `json:"ms"`
	// Relayed is the relayed transport address the server allocated.
	Relayed string `json:"relayed,omitempty"`
	// Failure names why it failed; empty on success.
	Failure Failure `json:"failure,omitempty"`
	// Error is the underlying error text; empty on success.
	Error string `json:"error,omitempty"`
}

// errHandshake marks a failed TLS handshake.
var errHandshake = errors.New("tls handshake")

// ErrURL is wrapped when the URL cannot be used.
var ErrURL = errors.New("turnprobe: bad TURN URL")

// ParseURL parses a TURN URL and says which transport it uses.
func ParseURL(raw string) (*stun.URI, Transport, error) {
	u, err := stun.ParseURI(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%w %q: %w", ErrURL, raw, err)
	}
	switch {
	case u.Scheme == stun.SchemeTypeTURN && u.Proto == stun.ProtoTypeUDP:
		return u, UDP, nil
	case u.Scheme == stun.SchemeTypeTURN && u.Proto == stun.ProtoTypeTCP:
		return u, TCP, nil
	case u.Scheme == stun.SchemeTypeTURNS && u.Proto == stun.ProtoTypeTCP:
		return u, TLS, nil
	case u.Scheme == stun.SchemeTypeTURNS:
		return nil, "", fmt.Errorf("%w %q: TURN over DTLS is not supported; use turns:host:port (TLS over TCP)", ErrURL, raw)
	}
	return nil, "", fmt.Errorf("%w %q: want a turn: or turns: URL", ErrURL, raw)
}

// Allocate makes one allocation and releases it. A failed allocation is a
// Result with OK false; the error is only for unusable Params.
func Allocate(ctx context.Context, p Params) (Result, error) {
	if p.Net == nil {
		return Result{}, errors.New("turnprobe: Net is required")
	}
	u, tr, err := ParseURL(p.URL)
	if err != nil {
		return Result{}, err
	}
	if p.Timeout <= 0 {
		p.Timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	res := Result{URL: p.URL, Transport: tr}
	start := time.Now()
	relayed, err := allocate(ctx, p, u, tr)
	res.Ms = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		res.Failure = Classify(err)
		if ctx.Err() != nil && res.Failure == FailOther {
			res.Failure = FailTimeout
		}
		res.Error = err.Error()
		return res, nil
	}
	res.OK, res.Relayed = true, relayed
	return res, nil
}

func allocate(ctx context.Context, p Params, u *stun.URI, tr Transport) (string, error) {
	addr := net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
	var conn net.PacketConn
	switch tr {
	case UDP:
		if _, err := p.Net.ResolveUDPAddr("udp4", addr); err != nil {
			return "", fmt.Errorf("resolve %s: %w", addr, err)
		}
		c, err := p.Net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			return "", fmt.Errorf("listen: %w", err)
		}
		conn = c
	case TCP, TLS:
		c, err := dialTCP(ctx, p.Net, addr)
		if err != nil {
			return "", err
		}
		if tr == TLS {
			cfg := &tls.Config{}
			if p.TLSConfig != nil {
				cfg = p.TLSConfig.Clone()
			}
			if cfg.ServerName == "" {
				cfg.ServerName = u.Host
			}
			tc := tls.Client(c, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = c.Close()
				return "", fmt.Errorf("%w with %s: %w", errHandshake, addr, err)
			}
			c = tc
		}
		conn = turn.NewSTUNConn(c)
	}
	client, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: addr,
		TURNServerAddr: addr,
		Username:       p.Username,
		Password:       p.Password,
		Conn:           conn,
		Net:            p.Net,
		LoggerFactory:  quiet(),
	})
	if err != nil {
		_ = conn.Close()
		return "", fmt.Errorf("turn client: %w", err)
	}
	// Allocate has no context: close the client to abort it.
	type outcome struct {
		relay net.PacketConn
		err   error
	}
	done := make(chan outcome, 1)
	go func() {
		if err := client.Listen(); err != nil {
			done <- outcome{err: err}
			return
		}
		relay, err := client.Allocate()
		done <- outcome{relay, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		client.Close()
		_ = conn.Close()
		<-done
		return "", fmt.Errorf("allocate on %s: %w", addr, ctx.Err())
	}
	defer func() {
		client.Close()
		_ = conn.Close()
	}()
	if o.err != nil {
		return "", fmt.Errorf("allocate on %s: %w", addr, o.err)
	}
	relayed := o.relay.LocalAddr().String()
	_ = o.relay.Close() // sends a zero-lifetime Refresh
	return relayed, nil
}

func dialTCP(ctx context.Context, n transport.Net, addr string) (net.Conn, error) {
	tcpAddr, err := n.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", addr, err)
	}
	// transport.Net's DialTCP has no context: dial in a goroutine.
	type outcome struct {
		c   net.Conn
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		c, err := n.DialTCP("tcp4", nil, tcpAddr)
		if err != nil {
			done <- outcome{nil, err}
			return
		}
		done <- outcome{c, nil}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return nil, fmt.Errorf("connect %s: %w", addr, o.err)
		}
		return o.c, nil
	case <-ctx.Done():
		go func() { // reap a late connection
			if o := <-done; o.c != nil {
				_ = o.c.Close()
			}
		}()
		return nil, fmt.Errorf("connect %s: %w", addr, ctx.Err())
	}
}

// Classify names the failure behind err.
func Classify(err error) Failure {
	var (
		turnErr  *stun.TurnError
		dnsErr   *net.DNSError
		certErr  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalErr x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		verifErr *tls.CertificateVerificationError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &turnErr):
		switch turnErr.ErrorCodeAttr.Code {
		// pion/turn's server answers a wrong password with 400, not 401;
		// the authenticated Allocate is the only request that can get it.
		case stun.CodeBadRequest, stun.CodeUnauthorized, stun.CodeStaleNonce, stun.CodeWrongCredentials:
			return FailAuth
		}
		return FailOther
	case errors.As(err, &dnsErr):
		return FailDNS
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &invalErr),
		errors.As(err, &recErr), errors.As(err, &alertErr), errors.As(err, &verifErr):
		return FailTLS
	case errors.Is(err, errHandshake) && !errors.Is(err, context.DeadlineExceeded):
		return FailTLS
	case errors.Is(err, syscall.ECONNREFUSED):
		return FailRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT), isTimeout(err):
		return FailTimeout
	}
	msg := err.Error()
	if strings.Contains(msg, "all retransmissions failed") || strings.Contains(msg, "transaction closed") {
		return FailTimeout
	}
	if strings.Contains(msg, "tls:") {
		return FailTLS
	}
	return FailOther
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func quiet() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}
