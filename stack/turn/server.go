package turn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v3"
	pionturn "github.com/pion/turn/v4"
)

// DefaultRealm is the realm used when Config.Realm is empty.
const DefaultRealm = "rtclab"

// Config declares a TURN server. The zero value of every optional field works.
type Config struct {
	// Net is the network to listen on and to relay through (required).
	Net transport.Net
	// RelayIP is the public address given to clients in XOR-RELAYED-ADDRESS
	// and used to open relay sockets (required).
	RelayIP net.IP
	// UDPAddr is the UDP listen address, e.g. "198.51.100.3:3478". Empty
	// means no UDP listener.
	UDPAddr string
	// TCPAddr is the TCP listen address (RFC 6062 client-to-server TCP; the
	// relayed leg is UDP). Empty means no TCP listener.
	TCPAddr string
	// TLSAddr and TLSConfig add a TURN-over-TLS listener. Both or neither.
	TLSAddr   string
	TLSConfig *tls.Config
	// Realm defaults to DefaultRealm.
	Realm string
	// Secret is the shared secret of the REST credentials (required).
	Secret string
	// AllowPeer overrides the relay policy; nil means PeerAllowed.
	AllowPeer func(ip net.IP) bool
	// UDPSockets is the number of UDP sockets bound to UDPAddr on the real
	// network (SO_REUSEPORT); 0 means one per CPU. Ignored on vnet.
	UDPSockets int
	// SocketBuffer is the receive and send buffer asked for each UDP
	// listening socket on the real network; 0 means DefaultSocketBuffer.
	SocketBuffer int
	// Quota limits what one client IP address may hold; the zero value
	// limits nothing.
	Quota Quota
	// Logger receives auth failures and refused peers; nil discards.
	Logger *slog.Logger
}

// Server is a running TURN server.
type Server struct {
	srv *pionturn.Server
	// addrs are the bound listen addresses, by transport ("udp", "tcp",
	// "tls"), so that port 0 in Config can be read back.
	addrs map[string]net.Addr
	// sockets is how the UDP listener was set up.
	sockets Sockets
	quota   *quotas
}

// ErrConfig is wrapped by every configuration error of New.
var ErrConfig = errors.New("turn config")

// New starts a TURN server as cfg declares.
func New(cfg Config) (*Server, error) {
	if cfg.Net == nil || cfg.RelayIP == nil || cfg.Secret == "" {
		return nil, fmt.Errorf("%w: Net, RelayIP and Secret are required", ErrConfig)
	}
	if cfg.UDPAddr == "" && cfg.TCPAddr == "" && cfg.TLSAddr == "" {
		return nil, fmt.Errorf("%w: no listen address", ErrConfig)
	}
	if (cfg.TLSAddr == "") != (cfg.TLSConfig == nil) {
		return nil, fmt.Errorf("%w: TLSAddr and TLSConfig go together", ErrConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	allow := cfg.AllowPeer
	if allow == nil {
		allow = PeerAllowed
	}
	fix := newFixer(cfg.RelayIP, pionturn.LongTermTURNRESTAuthHandler(cfg.Secret, quietLoggerFactory().NewLogger("turn")))
	perm := fix.permission(func(client net.Addr, peer net.IP) bool {
		if allow(peer) {
			return true
		}
		// Info, not Warn: every ICE agent offers its private host
		// addresses, and refusing them is this server's normal work
		// (a p2p call logged a dozen warnings per run); -v shows them.
		log.Info("turn: refused relay peer", "client", client.String(), "peer", peer.String())
		return false
	})
	addrs := map[string]net.Addr{}
	// The listen addresses, read once relays open (after New): every
	// relayed datagram checks them.
	own := sync.OnceValue(func() []net.Addr {
		out := make([]net.Addr, 0, len(addrs))
		for _, a := range addrs {
			out = append(out, a)
		}
		return out
	})
	var fast *fastPath
	relayGen := func() pionturn.RelayAddressGenerator {
		return ownPortsGuard{RelayAddressGenerator: bufferedRelays{&pionturn.RelayAddressGeneratorStatic{
			RelayAddress: cfg.RelayIP,
			Address:      cfg.RelayIP.String(),
			Net:          cfg.Net,
		}}, own: own, fast: fast}
	}
	var (
		pcs     []pionturn.PacketConnConfig
		lns     []pionturn.ListenerConfig
		closers []func() error
		sockets Sockets
	)
	closeAll := func() {
		for _, c := range closers {
			_ = c()
		}
	}
	if cfg.UDPAddr != "" {
		udp, info, err := listenUDP(cfg.Net, cfg.UDPAddr, cfg.UDPSockets, cfg.SocketBuffer)
		if err != nil {
			return nil, fmt.Errorf("turn listen udp %s: %w", cfg.UDPAddr, err)
		}
		sockets = info
		addrs["udp"] = udp[0].LocalAddr()
		if out, ok := udp[0].(*net.UDPConn); ok {
			fast = newFastPath(out, own) // the real network only
		}
		for _, pc := range udp {
			closers = append(closers, pc.Close)
			pcs = append(pcs, pionturn.PacketConnConfig{
				PacketConn: &fixedPacketConn{PacketConn: pc, f: fix, fast: fast}, RelayAddressGenerator: relayGen(), PermissionHandler: perm,
			})
		}
	}
	if cfg.TCPAddr != "" {
		ln, err := listenTCP(cfg.Net, cfg.TCPAddr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("turn listen tcp %s: %w", cfg.TCPAddr, err)
		}
		ln = limitConns(ln, cfg.Quota, log)
		closers = append(closers, ln.Close)
		addrs["tcp"] = ln.Addr()
		lns = append(lns, pionturn.ListenerConfig{
			Listener: &fixedListener{Listener: ln, f: fix}, RelayAddressGenerator: relayGen(), PermissionHandler: perm,
		})
	}
	if cfg.TLSAddr != "" {
		ln, err := listenTCP(cfg.Net, cfg.TLSAddr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("turn listen tls %s: %w", cfg.TLSAddr, err)
		}
		ln = limitConns(ln, cfg.Quota, log) // the TLS handshake counts as silence
		closers = append(closers, ln.Close)
		addrs["tls"] = ln.Addr()
		lns = append(lns, pionturn.ListenerConfig{
			Listener: &fixedListener{Listener: tls.NewListener(ln, cfg.TLSConfig), f: fix}, RelayAddressGenerator: relayGen(), PermissionHandler: perm,
		})
	}
	realm := cfg.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	q := newQuotas(cfg.Quota, log)
	events := q.events()
	if fast != nil {
		events = fast.events(events)
	}
	srv, err := pionturn.NewServer(pionturn.ServerConfig{
		Realm:              realm,
		AuthHandler:        fix.auth(authHandler(cfg.Secret, log)),
		QuotaHandler:       q.allow,
		EventHandler:       events,
		ChannelBindTimeout: channelLifetime,
		PacketConnConfigs:  pcs,
		ListenerConfigs:    lns,
		LoggerFactory:      quietLoggerFactory(),
	})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("turn start: %w", err)
	}
	return &Server{srv: srv, addrs: addrs, sockets: sockets, quota: q}, nil
}

// Addr is the bound address of the listener for transport "udp", "tcp" or
// "tls"; nil when there is none.
func (s *Server) Addr(transport string) net.Addr { return s.addrs[transport] }

// Sockets says how the UDP listener was set up.
func (s *Server) Sockets() Sockets { return s.sockets }

// Close stops the server and its listeners.
func (s *Server) Close() error { return s.srv.Close() }

// AllocationCount is the number of live allocations.
func (s *Server) AllocationCount() int { return s.srv.AllocationCount() }

func listenTCP(n transport.Net, addr string) (net.Listener, error) {
	tcpAddr, err := n.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return nil, err
	}
	return n.ListenTCP("tcp4", tcpAddr)
}

// authHandler checks REST credentials: the username is "expiry:user", the
// password base64(HMAC-SHA1(secret, username)). The expiry is compared with
// time.Now, so inside a synctest bubble it follows virtual time.
func authHandler(secret string, log *slog.Logger) pionturn.AuthHandler {
	inner := pionturn.LongTermTURNRESTAuthHandler(secret, quietLoggerFactory().NewLogger("turn"))
	return func(username, realm string, src net.Addr) ([]byte, bool) {
		key, ok := inner(username, realm, src)
		if !ok {
			log.Warn("turn: auth refused", "user", username, "from", src.String())
		}
		return key, ok
	}
}

// Credentials returns REST credentials for user, valid for ttl from now.
func Credentials(secret, user string, ttl time.Duration) (username, password string, err error) {
	return pionturn.GenerateLongTermTURNRESTCredentials(secret, user, ttl)
}

// quietLoggerFactory silences pion's own logging; rtclab logs what matters
// through slog.
func quietLoggerFactory() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}
