package diagnose

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pion/transport/v3"

	"github.com/rtclab/rtclab/stack/stunserver"
	"github.com/rtclab/rtclab/stack/testpeer"
	"github.com/rtclab/rtclab/stack/turn"
)

// ConfigPath is where the server publishes its ServerInfo.
const ConfigPath = "/rtclab/v1/config"

// ServerConfig declares `rtclab serve`.
type ServerConfig struct {
	// Net is the network to listen on (required; stdnet for real use).
	Net transport.Net
	// IP is the primary address everything listens on (required).
	IP string
	// AltIP is a second address of this host for the RFC 5780 responder;
	// empty serves plain STUN only.
	AltIP string
	// PublicHost is the name or address put in the URLs handed to clients;
	// empty means IP.
	PublicHost string
	// TURNPort serves TURN over UDP and TCP; TLSPort TURN over TLS; 0 picks
	// a free port, -1 disables.
	TURNPort, TLSPort int
	// STUNPort and STUNAltPort are the RFC 5780 responder's primary and
	// alternate ports; 0 picks free ones.
	STUNPort, STUNAltPort int
	// HTTPPort serves the test peer's signaling and ConfigPath; 0 picks.
	HTTPPort int
	// Secret is the REST shared secret (required).
	Secret string
	// CredentialTTL is how long handed-out credentials last; 0 means 10 min.
	CredentialTTL time.Duration
	// TLSConfig serves TURN over TLS; nil makes a self-signed certificate
	// for PublicHost, which ServerInfo then publishes.
	TLSConfig *tls.Config
	// AllowPrivatePeers lets TURN relay to loopback and private addresses
	// (tests and labs only: never on the internet).
	AllowPrivatePeers bool
	// AllowedPeers are ranges TURN may relay to although the default
	// policy refuses them (coturn's allowed-peer-ip): a lab's own hosts.
	AllowedPeers []netip.Prefix
	// TURNSockets and TURNBuffer set up TURN's UDP listener on the real
	// network (turn.Config.UDPSockets and SocketBuffer; 0 means the
	// defaults: one socket per CPU, 4 MiB).
	TURNSockets, TURNBuffer int
	// TURNQuota bounds what one client IP address may allocate.
	TURNQuota turn.Quota
	// RequestsPerIP is how many HTTP requests per second one client IP
	// address may make on average, in bursts of RequestBurst; past it the
	// server answers 429 with Retry-After. 0 means no limit.
	RequestsPerIP float64
	RequestBurst  int
	// TrustedProxies are the reverse proxies in front of the HTTP endpoint:
	// from a peer in them, the client's address is taken from Forwarded
	// (RFC 7239) or X-Forwarded-For, for the limits, the test peer's slots,
	// the history and the address shown. None (the default) ignores those
	// headers: any client can write them.
	TrustedProxies []netip.Prefix
	// ReadTimeout bounds reading one HTTP request, headers and body, so
	// that slow clients (slowloris) cannot hold connections; 0 means
	// DefaultReadTimeout. Headers get at most 5 s of it.
	ReadTimeout time.Duration
	// MaxPeers bounds the test peer's concurrent calls; 0 means its
	// default (32). PeerMaxDuration ends each call; 0 means its default
	// (60 s).
	MaxPeers        int
	PeerMaxDuration time.Duration
	// PeersPerCaller bounds the calls one address, or one invite from one
	// address, holds at once; 0 means testpeer.DefaultPerCaller.
	PeersPerCaller int
	// Invites checks the invite token of a test call (the browser test
	// page's X-Rtclab-Invite): a valid one takes the slots kept for
	// invited calls. Nil treats every call as uninvited.
	Invites func(ctx context.Context, token string) error
	// Logger receives refused peers and auth failures; nil discards.
	Logger *slog.Logger
	// Mount, when set, adds routes to the HTTP endpoint (the history's
	// API and console, the test page); they share its limits.
	Mount func(*http.ServeMux)
}

// DefaultReadTimeout bounds reading one HTTP request: an offer of 64 KiB
// takes well under a second on any link a call could use.
const DefaultReadTimeout = 10 * time.Second

// ServerInfo is what a client needs; the server serves it at ConfigPath
// with fresh REST credentials.
type ServerInfo struct {
	// Schema is "rtclab.serve/v1".
	Schema string `json:"schema"`
	// STUN is the RFC 5780 responder's URL.
	STUN string `json:"stun"`
	// RFC5780 says whether the responder has an alternate address.
	RFC5780 bool `json:"rfc5780"`
	// TURN are the TURN URLs (UDP, TCP, TLS).
	TURN []string `json:"turn"`
	// Username and Password are REST credentials (draft-uberti-behave-turn-rest).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// TTLSeconds is how long they last.
	TTLSeconds int `json:"ttl_s,omitempty"`
	// Offer is the test peer's signaling path.
	Offer string `json:"offer"`
	// TLSCertPEM is the self-signed TURN TLS certificate, when there is one.
	TLSCertPEM string `json:"tls_cert_pem,omitempty"`
	// HTTP is the base URL of this endpoint.
	HTTP string `json:"http"`
}

// Server is a running `rtclab serve`.
type Server struct {
	turn *turn.Server
	stun *stunserver.Server
	peer *testpeer.Peer
	http *http.Server
	ln   net.Listener
	info ServerInfo
	cfg  ServerConfig
	done chan struct{}
}

// ErrServerConfig is wrapped by every configuration error of StartServer.
var ErrServerConfig = errors.New("serve config")

// StartServer starts TURN, the RFC 5780 responder, the test peer and the
// HTTP endpoint. On error nothing is left running.
func StartServer(cfg ServerConfig) (*Server, error) {
	if cfg.Net == nil || cfg.Secret == "" {
		return nil, fmt.Errorf("%w: Net and Secret are required", ErrServerConfig)
	}
	ip := net.ParseIP(cfg.IP)
	if ip == nil || ip.To4() == nil {
		return nil, fmt.Errorf("%w: --ip %q: want an IPv4 address of this host", ErrServerConfig, cfg.IP)
	}
	if cfg.AltIP != "" {
		if alt := net.ParseIP(cfg.AltIP); alt == nil || alt.To4() == nil || alt.Equal(ip) {
			return nil, fmt.Errorf("%w: --alt-ip %q: want a second IPv4 address of this host", ErrServerConfig, cfg.AltIP)
		}
	}
	if cfg.PublicHost == "" {
		cfg.PublicHost = cfg.IP
	}
	if cfg.CredentialTTL <= 0 {
		cfg.CredentialTTL = 10 * time.Minute
	}
	s := &Server{cfg: cfg, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			s.closeParts()
		}
	}()
	hp := func(port int) string { return net.JoinHostPort(cfg.IP, strconv.Itoa(max(port, 0))) }

	// The RFC 5780 responder.
	stunCfg := stunserver.Config{Net: cfg.Net, Primary: hp(cfg.STUNPort)}
	if cfg.AltIP != "" {
		stunCfg.Alternate = net.JoinHostPort(cfg.AltIP, strconv.Itoa(cfg.STUNAltPort))
	}
	st, err := stunserver.New(stunCfg)
	if err != nil {
		return nil, err
	}
	s.stun = st
	s.info = ServerInfo{
		Schema:  "rtclab.serve/v1",
		STUN:    "stun:" + net.JoinHostPort(cfg.PublicHost, strconv.Itoa(st.Primary().Port)),
		RFC5780: st.Other() != nil,
		Offer:   testpeer.OfferPath,
	}

	// TURN.
	turnCfg := turn.Config{
		Net: cfg.Net, RelayIP: ip, Secret: cfg.Secret, Logger: cfg.Logger,
		UDPSockets: cfg.TURNSockets, SocketBuffer: cfg.TURNBuffer, Quota: cfg.TURNQuota,
	}
	if cfg.AllowPrivatePeers {
		turnCfg.AllowPeer = func(net.IP) bool { return true }
	} else if len(cfg.AllowedPeers) > 0 {
		turnCfg.AllowPeer = turn.AllowingPeers(turn.PeerAllowed, cfg.AllowedPeers)
	}
	if cfg.TURNPort >= 0 {
		turnCfg.UDPAddr, turnCfg.TCPAddr = hp(cfg.TURNPort), hp(cfg.TURNPort)
	}
	if cfg.TLSPort >= 0 {
		turnCfg.TLSAddr, turnCfg.TLSConfig = hp(cfg.TLSPort), cfg.TLSConfig
		if turnCfg.TLSConfig == nil {
			tcfg, _, pemCert, err := turn.SelfSigned([]string{cfg.PublicHost}, 30*24*time.Hour)
			if err != nil {
				return nil, err
			}
			turnCfg.TLSConfig = tcfg
			s.info.TLSCertPEM = string(pemCert)
		}
	}
	switch {
	case cfg.TURNPort < 0 && cfg.TLSPort < 0: // no TURN at all
	case cfg.TURNPort == 0:
		// One free port for both UDP and TCP: take the UDP one, then try it
		// for TCP (the usual case); retry a few times.
		s.turn, err = startTURNSharedPort(cfg.Net, turnCfg, cfg.IP)
	default:
		s.turn, err = turn.New(turnCfg)
	}
	if err != nil {
		return nil, err
	}
	pub := func(a net.Addr) string {
		_, port, _ := net.SplitHostPort(a.String())
		return net.JoinHostPort(cfg.PublicHost, port)
	}
	if s.turn != nil {
		for _, l := range []struct{ tr, prefix, suffix string }{
			{"udp", "turn:", "?transport=udp"}, {"tcp", "turn:", "?transport=tcp"}, {"tls", "turns:", "?transport=tcp"},
		} {
			if a := s.turn.Addr(l.tr); a != nil {
				s.info.TURN = append(s.info.TURN, l.prefix+pub(a)+l.suffix)
			}
		}
	}

	// The test peer and the HTTP endpoint.
	peer, err := testpeer.New(testpeer.Config{
		Net: cfg.Net, IPs: []net.IP{ip}, IncludeLoopback: ip.IsLoopback(), Logger: cfg.Logger, MaxPeers: cfg.MaxPeers,
		MaxDuration: cfg.PeerMaxDuration, Admit: admitter(cfg.Invites), PerCaller: cfg.PeersPerCaller,
	})
	if err != nil {
		return nil, err
	}
	s.peer = peer
	tcpAddr, err := cfg.Net.ResolveTCPAddr("tcp4", hp(cfg.HTTPPort))
	if err != nil {
		return nil, fmt.Errorf("serve: http address: %w", err)
	}
	ln, err := cfg.Net.ListenTCP("tcp4", tcpAddr)
	if err != nil {
		return nil, fmt.Errorf("serve: listen http: %w", err)
	}
	s.ln = ln
	s.info.HTTP = "http://" + pub(ln.Addr())
	mux := http.NewServeMux()
	mux.Handle(testpeer.OfferPath, allowCORS(peer.Handler(), "POST"))
	config := allowCORS(http.HandlerFunc(s.serveConfig), "GET")
	mux.Handle("GET "+ConfigPath, config)
	mux.Handle("OPTIONS "+ConfigPath, config)
	mux.Handle(GradePath, allowCORS(http.HandlerFunc(serveGrade), "POST"))
	mux.Handle(RankPath, allowCORS(http.HandlerFunc(serveRank), "POST"))
	if cfg.Mount != nil {
		cfg.Mount(mux)
	}
	s.http = newHTTPServer(fromProxies(limitPerIP(mux, cfg.RequestsPerIP, cfg.RequestBurst), cfg.TrustedProxies), cfg.ReadTimeout)
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln)
	}()
	ok = true
	return s, nil
}

func startTURNSharedPort(n transport.Net, cfg turn.Config, ip string) (*turn.Server, error) {
	var lastErr error
	for range 20 {
		pc, err := n.ListenPacket("udp4", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		_ = pc.Close()
		cfg.UDPAddr = net.JoinHostPort(ip, strconv.Itoa(port))
		cfg.TCPAddr = cfg.UDPAddr
		srv, err := turn.New(cfg)
		if err == nil {
			return srv, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// Peers is the number of test calls open.
func (s *Server) Peers() int { return s.peer.Count() }

// TURNAllocations is the number of live TURN allocations.
func (s *Server) TURNAllocations() int {
	if s.turn == nil {
		return 0
	}
	return s.turn.AllocationCount()
}

// Info is what the server publishes (without credentials).
func (s *Server) Info() ServerInfo { return s.info }

// Describe says in words what the server listens on.
func (s *Server) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rtclab serve\n")
	fmt.Fprintf(&b, "  STUN (RFC 5780 %s): %s", onOff(s.info.RFC5780), s.info.STUN)
	if o := s.stun.Other(); o != nil {
		fmt.Fprintf(&b, ", alternate %s", o)
	}
	fmt.Fprintf(&b, "\n")
	for _, u := range s.info.TURN {
		fmt.Fprintf(&b, "  TURN: %s\n", u)
	}
	if s.turn != nil && s.turn.Addr("udp") != nil {
		fmt.Fprintf(&b, "  TURN UDP listener: %s; Go runs %d threads at once (GOMAXPROCS)\n", s.turn.Sockets(), runtime.GOMAXPROCS(0))
	}
	fmt.Fprintf(&b, "  test peer and config: %s%s\n", s.info.HTTP, ConfigPath)
	fmt.Fprintf(&b, "  limits per client IP: %s\n", s.limits())
	if len(s.cfg.TrustedProxies) > 0 {
		fmt.Fprintf(&b, "  client address: from Forwarded or X-Forwarded-For when the request comes from a trusted proxy %v\n", s.cfg.TrustedProxies)
	}
	fmt.Fprintf(&b, "  credentials: TURN REST (coturn use-auth-secret): username \"EXPIRY:USER\", password base64(HMAC-SHA1(secret, username)); %s hands out ones valid for %s\n", ConfigPath, s.cfg.CredentialTTL)
	if s.cfg.AllowPrivatePeers {
		fmt.Fprintf(&b, "  relay policy: ANY peer, including loopback and private addresses (--allow-private-peers: labs only)\n")
	} else {
		fmt.Fprintf(&b, "  relay policy: refuses loopback, private, link-local, unspecified, multicast, IPv4-mapped and other special-purpose peers")
		if len(s.cfg.AllowedPeers) > 0 {
			fmt.Fprintf(&b, " except %v", s.cfg.AllowedPeers)
		}
		fmt.Fprintf(&b, "\n")
	}
	if s.info.TLSCertPEM != "" {
		fmt.Fprintf(&b, "  TLS: self-signed certificate for %s (published at %s)\n", s.cfg.PublicHost, ConfigPath)
	}
	fmt.Fprintf(&b, "diagnose with: rtclab diagnose --server %s\n", s.info.HTTP)
	return b.String()
}

// limits says in words what one client address may take.
func (s *Server) limits() string {
	n := func(v int, what string) string {
		if v <= 0 {
			return "any number of " + what
		}
		return fmt.Sprintf("%d %s", v, what)
	}
	rate := func(v float64, burst int, what string) string {
		if v <= 0 {
			return "no " + what + " limit"
		}
		return fmt.Sprintf("%g %s/s (bursts of %d)", v, what, max(burst, 1))
	}
	q := s.cfg.TURNQuota
	maxPeers, reserved, perCaller := s.peer.Limits()
	return fmt.Sprintf("%s held, %s; %s; %s; %d test calls (test peer: %d calls at once in all, %d of them kept for invites)",
		n(q.PerIP, "TURN allocations"), rate(q.RatePerIP, q.Burst, "allocations"),
		n(q.TCPPerIP, "TURN TCP/TLS connections"), rate(s.cfg.RequestsPerIP, s.cfg.RequestBurst, "HTTP requests"), perCaller, maxPeers, reserved)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off: no --alt-ip"
}

func (s *Server) serveConfig(w http.ResponseWriter, _ *http.Request) {
	info := s.info
	user, pass, err := turn.Credentials(s.cfg.Secret, "diagnose", s.cfg.CredentialTTL)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	info.Username, info.Password, info.TTLSeconds = user, pass, int(s.cfg.CredentialTTL/time.Second)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(info)
}

// Close stops everything: HTTP, the test peer's connections, TURN, STUN.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var errs []error
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, s.http.Close())
		}
		<-s.done
	}
	s.http = nil
	errs = append(errs, s.closeParts())
	return errors.Join(errs...)
}

func (s *Server) closeParts() error {
	var errs []error
	if s.http == nil && s.ln != nil {
		_ = s.ln.Close()
	}
	if s.peer != nil {
		errs = append(errs, s.peer.Close())
	}
	if s.turn != nil {
		errs = append(errs, s.turn.Close())
	}
	if s.stun != nil {
		errs = append(errs, s.stun.Close())
	}
	return errors.Join(errs...)
}

// FetchServer reads a server's ServerInfo from its base URL.
func FetchServer(ctx context.Context, client *http.Client, base string) (ServerInfo, error) {
	if client == nil {
		client = http.DefaultClient
	}
	url := strings.TrimRight(base, "/") + ConfigPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ServerInfo{}, fmt.Errorf("%w: --server %q: %w", ErrPlan, base, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return ServerInfo{}, fmt.Errorf("rtclab server %s: %w", base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return ServerInfo{}, fmt.Errorf("rtclab server %s: %w", base, err)
	}
	if resp.StatusCode != http.StatusOK {
		return ServerInfo{}, fmt.Errorf("rtclab server %s: %s (is it an rtclab serve?)", url, resp.Status)
	}
	var info ServerInfo
	if err := json.Unmarshal(data, &info); err != nil || info.Schema != "rtclab.serve/v1" {
		return ServerInfo{}, fmt.Errorf("rtclab server %s: not an rtclab serve config", url)
	}
	return info, nil
}

// CertPool returns a pool with the server's published certificate, or nil.
func (i ServerInfo) CertPool() *x509.CertPool {
	if i.TLSCertPEM == "" {
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(i.TLSCertPEM)) {
		return nil
	}
	return pool
}
