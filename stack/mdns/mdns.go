package mdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/transport/v3"
	"golang.org/x/net/dns/dnsmessage"
)

// Group is the IPv4 mDNS group and port (RFC 6762 section 3).
var Group = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

// TTL is the time to live of an answer, in seconds (RFC 6762 section 10:
// 120 s for records with a host name).
const TTL = 120

// Queries is how many times Resolve asks before giving up.
const Queries = 4

// ErrNotFound is returned by Resolve when no host answered.
var ErrNotFound = errors.New("mdns: no answer")

// Params declares a Conn.
type Params struct {
	// Net is the network to listen on (required).
	Net transport.Net
	// Names are the names this host answers for, each with its address;
	// a name ends in ".local" (RFC 6762 section 3).
	Names map[string]net.IP
	// QueryInterval is the first wait before asking again (doubling
	// after); 0 means 1 s.
	QueryInterval time.Duration
}

// Conn answers for its names and resolves others'.
type Conn struct {
	c        net.PacketConn
	interval time.Duration

	mu      sync.Mutex
	names   map[string]net.IP // fully qualified, lower case
	waiters map[string][]chan net.IP
	wg      sync.WaitGroup
}

// Listen joins the mDNS group on p.Net and starts answering.
func Listen(p Params) (*Conn, error) {
	if p.Net == nil {
		return nil, errors.New("mdns: Params.Net is required")
	}
	names := map[string]net.IP{}
	for n, ip := range p.Names {
		if !IsLocal(n) || ip.To4() == nil {
			return nil, fmt.Errorf("mdns: name %q with address %v: want a .local name and an IPv4 address", n, ip)
		}
		names[fqdn(n)] = ip.To4()
	}
	c, err := p.Net.ListenUDP("udp4", Group)
	if err != nil {
		return nil, fmt.Errorf("mdns: join %s: %w", Group, err)
	}
	m := &Conn{c: c, names: names, interval: p.QueryInterval, waiters: map[string][]chan net.IP{}}
	if m.interval <= 0 {
		m.interval = time.Second
	}
	m.wg.Add(1)
	go m.read()
	return m, nil
}

// IsLocal reports whether name is an mDNS name (ends in ".local").
func IsLocal(name string) bool {
	return strings.HasSuffix(strings.ToLower(strings.TrimSuffix(name, ".")), ".local")
}

func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// Close stops answering and ends every Resolve.
func (m *Conn) Close() error {
	err := m.c.Close()
	m.wg.Wait()
	return err
}

// Resolve asks the group for name's IPv4 address until a host answers,
// Queries questions go unanswered, or ctx ends.
func (m *Conn) Resolve(ctx context.Context, name string) (net.IP, error) {
	key := fqdn(name)
	m.mu.Lock()
	ip, ok := m.names[key]
	m.mu.Unlock()
	if ok {
		return ip, nil
	}
	ch := make(chan net.IP, 1)
	m.mu.Lock()
	m.waiters[key] = append(m.waiters[key], ch)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		ws := m.waiters[key]
		for i, w := range ws {
			if w == ch {
				m.waiters[key] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(m.waiters[key]) == 0 {
			delete(m.waiters, key)
		}
	}()
	q, err := query(key)
	if err != nil {
		return nil, err
	}
	wait := m.interval
	for range Queries {
		if _, err := m.c.WriteTo(q, Group); err != nil {
			return nil, fmt.Errorf("mdns: query %s: %w", name, err)
		}
		t := time.NewTimer(wait)
		select {
		case ip := <-ch:
			t.Stop()
			return ip, nil
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
	return nil, fmt.Errorf("%w for %s after %d queries", ErrNotFound, name, Queries)
}

func (m *Conn) read() {
	defer m.wg.Done()
	buf := make([]byte, 9000) // RFC 6762 section 17
	for {
		n, _, err := m.c.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		m.handle(buf[:n])
	}
}

// handle answers a query for one of m's names, or hands an answer to
// whoever waits for it. Anything else is ignored.
func (m *Conn) handle(b []byte) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil {
		return
	}
	if !h.Response {
		qs, err := p.AllQuestions()
		if err != nil {
			return
		}
		for _, q := range qs {
			m.mu.Lock()
			ip, ok := m.names[strings.ToLower(q.Name.String())]
			m.mu.Unlock()
			if !ok || q.Type != dnsmessage.TypeA && q.Type != dnsmessage.TypeALL {
				continue
			}
			if a, err := answer(q.Name, ip); err == nil {
				_, _ = m.c.WriteTo(a, Group)
			}
		}
		return
	}
	if err := p.SkipAllQuestions(); err != nil {
		return
	}
	for {
		ah, err := p.AnswerHeader()
		if err != nil {
			return
		}
		if ah.Type != dnsmessage.TypeA {
			if p.SkipAnswer() != nil {
				return
			}
			continue
		}
		r, err := p.AResource()
		if err != nil {
			return
		}
		key := strings.ToLower(ah.Name.String())
		m.mu.Lock()
		for _, w := range m.waiters[key] {
			select {
			case w <- net.IP(r.A[:]):
			default:
			}
		}
		m.mu.Unlock()
	}
}

// query is a one-shot question for name's A record (RFC 6762 section 5.1).
func query(name string) ([]byte, error) {
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, fmt.Errorf("mdns: name %q: %w", name, err)
	}
	msg := dnsmessage.Message{Questions: []dnsmessage.Question{{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}}}
	return msg.Pack()
}

// answer is an authoritative answer for a unique name, cache-flush bit
// set (RFC 6762 sections 6 and 10.2).
func answer(name dnsmessage.Name, ip net.IP) ([]byte, error) {
	var a [4]byte
	copy(a[:], ip.To4())
	msg := dnsmessage.Message{
		Header: dnsmessage.Header{Response: true, Authoritative: true},
		Answers: []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET | 1<<15, TTL: TTL},
			Body:   &dnsmessage.AResource{A: a},
		}},
	}
	return msg.Pack()
}

// Register adds a name this host answers for.
func (m *Conn) Register(name string, ip net.IP) error {
	if !IsLocal(name) || ip.To4() == nil {
		return fmt.Errorf("mdns: name %q with address %v: want a .local name and an IPv4 address", name, ip)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.names[fqdn(name)] = ip.To4()
	return nil
}
