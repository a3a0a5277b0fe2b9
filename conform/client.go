package conform

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pion/stun/v3"
)

// conn is one client transport to the server under test: a connected UDP
// socket, or a TCP/TLS stream framed as RFC 8489 §6.2.2 and RFC 8656 §12.5
// say (STUN messages back to back, ChannelData padded to 4 bytes).
type conn struct {
	c      net.Conn
	stream bool
	// pending holds messages read while waiting for another one.
	pending [][]byte
	rbuf    []byte
}

// dial opens a transport to addr: "udp", "tcp" or "tls".
func dial(ctx context.Context, transport, addr string, tlsCfg *tls.Config) (*conn, error) {
	d := net.Dialer{}
	switch transport {
	case "udp":
		c, err := d.DialContext(ctx, "udp", addr)
		if err != nil {
			return nil, fmt.Errorf("dial udp %s: %w", addr, err)
		}
		return &conn{c: c}, nil
	case "tcp":
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("dial tcp %s: %w", addr, err)
		}
		return &conn{c: c, stream: true}, nil
	case "tls":
		td := tls.Dialer{NetDialer: &d, Config: tlsCfg}
		c, err := td.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("dial tls %s: %w", addr, err)
		}
		return &conn{c: c, stream: true}, nil
	}
	return nil, fmt.Errorf("transport %q: want udp, tcp or tls", transport)
}

func (c *conn) Close() error { return c.c.Close() }

// LocalAddr is the client's transport address as the server should see it
// on loopback (no NAT in between).
func (c *conn) LocalAddr() net.Addr { return c.c.LocalAddr() }

// write sends one STUN message or ChannelData frame.
func (c *conn) write(b []byte) error {
	_, err := c.c.Write(b)
	return err
}

// read returns the next message (STUN or ChannelData) or an error at the
// deadline.
func (c *conn) read(deadline time.Time) ([]byte, error) {
	if len(c.pending) > 0 {
		m := c.pending[0]
		c.pending = c.pending[1:]
		return m, nil
	}
	if err := c.c.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	if !c.stream {
		buf := make([]byte, 64*1024)
		n, err := c.c.Read(buf)
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
	for {
		if n := frameLen(c.rbuf); n > 0 && len(c.rbuf) >= n {
			m := append([]byte(nil), c.rbuf[:n]...)
			c.rbuf = c.rbuf[n:]
			return m, nil
		}
		buf := make([]byte, 64*1024)
		n, err := c.c.Read(buf)
		if n > 0 {
			c.rbuf = append(c.rbuf, buf[:n]...)
			continue
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
}

// frameLen is the length of the frame at the start of b on a stream, 0 when
// the header is not complete yet.
func frameLen(b []byte) int {
	if len(b) < 4 {
		return 0
	}
	l := int(binary.BigEndian.Uint16(b[2:4]))
	if b[0]&0xC0 == 0x40 { // ChannelData, RFC 8656 §12.5: padded on streams
		return 4 + (l+3)&^3
	}
	return 20 + l
}

// errTimeout is returned when no answer came in time.
var errTimeout = errors.New("no answer")

// roundTrip sends req and returns the response with its transaction ID,
// retransmitting on UDP (RFC 8489 §6.2.1, with a shorter schedule: the
// suite talks to servers close by). Other messages that arrive meanwhile
// (Data indications, ChannelData) are kept for later reads.
func (c *conn) roundTrip(ctx context.Context, req *stun.Message, timeout time.Duration) (*stun.Message, error) {
	end := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	rto := timeout / 4
	if c.stream {
		rto = timeout
	}
	var kept [][]byte
	defer func() { c.pending = append(kept, c.pending...) }()
	for next := time.Now(); ; {
		if !time.Now().Before(end) {
			return nil, errTimeout
		}
		if !time.Now().Before(next) {
			if err := c.write(req.Raw); err != nil {
				return nil, fmt.Errorf("send: %w", err)
			}
			next = time.Now().Add(rto)
		}
		b, err := c.read(minTime(next, end))
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return nil, err
		}
		if !stun.IsMessage(b) {
			kept = append(kept, b)
			continue
		}
		m := &stun.Message{Raw: b}
		if err := m.Decode(); err != nil {
			continue
		}
		if m.TransactionID != req.TransactionID {
			kept = append(kept, b)
			continue
		}
		return m, nil
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// waitFor reads until match accepts a message or the timeout passes;
// messages it does not accept are kept.
func (c *conn) waitFor(timeout time.Duration, match func([]byte) bool) ([]byte, error) {
	end := time.Now().Add(timeout)
	var kept [][]byte
	defer func() { c.pending = append(kept, c.pending...) }()
	for {
		b, err := c.read(end)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, errTimeout
			}
			return nil, err
		}
		if match(b) {
			return b, nil
		}
		kept = append(kept, b)
	}
}

// errorCode is the response's ERROR-CODE, 0 for a success or no attribute.
func errorCode(m *stun.Message) (int, string) {
	var ec stun.ErrorCodeAttribute
	if err := ec.GetFrom(m); err != nil {
		return 0, ""
	}
	return int(ec.Code), string(ec.Reason)
}

// describe is a response in a few words for check details.
func describe(m *stun.Message) string {
	if m == nil {
		return "no answer"
	}
	if m.Type.Class == stun.ClassErrorResponse {
		code, reason := errorCode(m)
		if code == 0 {
			return "error response without ERROR-CODE"
		}
		return fmt.Sprintf("%d %q", code, reason)
	}
	return m.Type.String()
}
