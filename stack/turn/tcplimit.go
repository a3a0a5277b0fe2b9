package turn

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// limitedListener bounds TURN's TCP and TLS connections (RFC 6062
// client-to-server TCP): how many one client IP address may hold at once,
// and how long one may stay silent. A client that opens connections and
// sends nothing (slowloris) held a goroutine and a socket per connection
// for as long as it liked.
type limitedListener struct {
	net.Listener
	perIP int
	idle  time.Duration
	log   *slog.Logger

	mu   sync.Mutex
	held map[netip.Addr]int
}

func limitConns(ln net.Listener, q Quota, log *slog.Logger) net.Listener {
	if q.TCPPerIP <= 0 && q.TCPIdle <= 0 {
		return ln
	}
	return &limitedListener{Listener: ln, perIP: q.TCPPerIP, idle: q.TCPIdle, log: log, held: map[netip.Addr]int{}}
}

// Accept returns the next connection within its address's quota; those
// past it are closed at once.
func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := clientIP(c.RemoteAddr())
		l.mu.Lock()
		over := l.perIP > 0 && l.held[ip] >= l.perIP
		if !over {
			l.held[ip]++
		}
		l.mu.Unlock()
		if over {
			l.log.Info("turn: TCP connection quota reached", "client", c.RemoteAddr().String(), "held", l.perIP)
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, ip: ip}, nil
	}
}

func (l *limitedListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[ip] <= 1 {
		delete(l.held, ip)
	} else {
		l.held[ip]--
	}
}

type limitedConn struct {
	net.Conn
	l    *limitedListener
	ip   netip.Addr
	once sync.Once
}

// Read gives the client l.idle to send something: a TURN client refreshes
// its allocation at least every 10 minutes (RFC 8656 section 7.2), so a
// longer silence means there is none.
func (c *limitedConn) Read(p []byte) (int, error) {
	if c.l.idle > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.l.idle))
	}
	return c.Conn.Read(p)
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c.ip) })
	return c.Conn.Close()
}
