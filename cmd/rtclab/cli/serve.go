package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/pion/transport/v3/stdnet"
	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/diagnose/page"
	"github.com/rtclab/rtclab/stack/turn"
)

func newServeCmd(env *Env) *cobra.Command {
	var (
		cfg           diagnose.ServerConfig
		cert, key     string
		duration      time.Duration
		verbose       bool
		allowedPeers  []string
		proxies       []string
		hist          historyFlags
		httpPort, ttl = 8080, 10 * time.Minute
	)
	cmd := &cobra.Command{
		Use:   "serve --ip ADDRESS [--alt-ip ADDRESS]",
		Short: "Run the server side of 'rtclab diagnose': STUN/TURN, RFC 5780, a test peer",
		Long: `Run, on the addresses you choose, everything 'rtclab diagnose' needs:

  - a TURN server (RFC 8656) over UDP and TCP (--turn-port) and TLS
    (--tls-port), with coturn-style REST credentials (use-auth-secret):
    username "EXPIRY:USER", password base64(HMAC-SHA1(secret, username));
  - an RFC 5780 STUN responder on --ip and --alt-ip, each on --stun-port
    and --stun-alt-port (OTHER-ADDRESS, CHANGE-REQUEST, RESPONSE-ORIGIN),
    for NAT behaviour discovery; without --alt-ip it is plain STUN;
  - a test peer that echoes and sinks data for RTT and bandwidth tests,
    and an HTTP endpoint (--http-port) with its signaling and a config
    that hands clients the URLs and short-lived credentials.

Abuse limits (per client IP address): --turn-quota allocations held at
once and --turn-rate new ones per second (486 past them, RFC 8656),
--turn-tcp-quota TURN TCP/TLS connections (silent ones close after 11 min),
--http-rate requests per second (429 past it); behind a reverse proxy,
name it with --trusted-proxy so that the client's address comes from its
Forwarded or X-Forwarded-For header. Offers over 64 KiB (413) or
with more than 16 m-lines (400) are refused before parsing; a third of
the test peer's --max-peers calls are kept for the test page's invites,
one address (or invite from one address) holds at most 6, a call not
connected in 15 s is dropped; a full test peer or one that timed out answers 503 with
Retry-After (clients report "server busy", never a bad network); test
calls end after 60 s; a request must arrive within --read-timeout.

It is safe on the internet: TURN refuses to relay to loopback, private,
link-local, unspecified, multicast, IPv4-mapped and the other special-
purpose addresses (answering 403), and to its own ports, unless
--allow-private-peers is given (labs and tests only); --allowed-peer-ip
lets chosen ranges through. 'rtclab conform' checks all of it.

Support history (docs/serve.md): the same HTTP port serves a console
(/console) and an API (/api/v1/*) over a SQLite file or a postgres://
URL (--db). Support staff make invites (a link for a customer: label,
expiry, uses) and search the results customers' browsers and 'rtclab
diagnose --upload' post there. Making invites and reading results need
the admin token (--admin-token or $RTCLAB_ADMIN_TOKEN; without either a
random one is printed once); an invite only lets its holder post
results, which only the admin can read. An invite's link opens the
browser test page (/t/<token>, docs/testpage.md): the diagnosis in the
customer's browser, its result posted as it goes; an invite naming
several servers ("servers" in POST /api/v1/invites) has the page measure
each and rank them as 'rtclab diagnose --server A --server B' does.
Results are deleted after --retention (90d); --webhook is told of each
new complete result (its queue is kept in --db across restarts). --db
none turns it off.

Without --cert/--key, TURN over TLS uses a self-signed certificate that the
config endpoint publishes. It runs until Ctrl-C (or for --for).

Exit code: 0 stopped cleanly, 1 failed while running, 2 unusable input.`,
		Example: `  rtclab serve --ip 203.0.113.10 --alt-ip 203.0.113.11 --public-host turn.example.com \
      --cert /etc/ssl/turn.pem --key /etc/ssl/turn.key --tls-port 443
  rtclab serve --ip 127.0.0.1 --alt-ip 127.0.0.2 --allow-private-peers --db /tmp/lab-history.db
  RTCLAB_ADMIN_TOKEN=$(cat /etc/rtclab/admin-token) rtclab serve --ip 203.0.113.10 \
      --db /var/lib/rtclab/history.db --retention 30d --webhook https://hooks.example.com/rtclab`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.IP == "" {
				return usagef("serve: --ip is required (the address to listen on)")
			}
			if cfg.TURNSockets < 0 || cfg.TURNBuffer < 0 || cfg.TURNQuota.PerIP < 0 || cfg.TURNQuota.RatePerIP < 0 || cfg.TURNQuota.TCPPerIP < 0 ||
				cfg.RequestsPerIP < 0 || cfg.RequestBurst < 0 || cfg.MaxPeers < 0 || cfg.PeersPerCaller < 0 || cfg.ReadTimeout < 0 {
				return usagef("serve: --turn-sockets, --turn-buffer, --turn-quota, --turn-tcp-quota, --turn-rate, --http-rate, --http-burst, --max-peers, --peers-per-ip and --read-timeout: want 0 or more")
			}
			if (cert == "") != (key == "") {
				return usagef("serve: --cert and --key go together")
			}
			if cert != "" {
				pair, err := tls.LoadX509KeyPair(cert, key)
				if err != nil {
					return usagef("serve: --cert/--key: %v", err)
				}
				cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
			}
			for _, a := range allowedPeers {
				p, err := parsePrefix(a)
				if err != nil {
					return usagef("serve: --allowed-peer-ip %q: want an address or CIDR prefix", a)
				}
				cfg.AllowedPeers = append(cfg.AllowedPeers, p)
			}
			for _, a := range proxies {
				p, err := parsePrefix(a)
				if err != nil {
					return usagef("serve: --trusted-proxy %q: want an address or CIDR prefix of a reverse proxy in front of serve", a)
				}
				cfg.TrustedProxies = append(cfg.TrustedProxies, p.Masked())
			}
			generated := false
			if cfg.Secret == "" {
				b := make([]byte, 16)
				if _, err := rand.Read(b); err != nil {
					return err
				}
				cfg.Secret, generated = hex.EncodeToString(b), true
			}
			cfg.HTTPPort, cfg.CredentialTTL = httpPort, ttl
			cfg.TURNQuota.Burst = int(2 * cfg.TURNQuota.RatePerIP)
			// A TURN client refreshes at least every 10 minutes (RFC 8656
			// section 7.2): a TCP connection silent for longer holds nothing.
			cfg.TURNQuota.TCPIdle = 11 * time.Minute
			n, err := stdnet.NewNet()
			if err != nil {
				return err
			}
			cfg.Net = n
			cfg.Logger = logger(env.Stderr, verbose)
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			hs, err := hist.open(ctx, env.Stderr, cfg.Logger)
			if err != nil {
				return err
			}
			defer hs.close(env.Stderr)
			if hs != nil {
				cfg.Mount = hs.api.Register
				page.Wire(&cfg, hs.store) // the test page at /t/{invite}; invited calls get reserved slots
			}
			srv, err := diagnose.StartServer(cfg)
			if errors.Is(err, diagnose.ErrServerConfig) {
				return &UsageError{Err: err}
			}
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			env.onStop("closing the servers: open TURN allocations and test-peer calls end; stored results stay, queued webhook events are sent for up to 10 s and the rest kept for the next start")
			fmt.Fprint(env.Stdout, srv.Describe())
			if generated {
				fmt.Fprintf(env.Stdout, "  REST secret (generated): %s\n", cfg.Secret)
			}
			prune := make(<-chan time.Time)
			if hs != nil {
				hs.api.SetBase(srv.Info().HTTP)
				hs.describe(env.Stdout, srv.Info().HTTP)
				t := time.NewTicker(time.Hour)
				defer t.Stop()
				prune = t.C
			}
			var deadline <-chan time.Time
			if duration > 0 {
				deadline = time.After(duration)
			}
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
		wait:
			for {
				select {
				case <-tick.C:
					if env.Interrupt.Load() {
						break wait
					}
				case <-deadline:
					break wait
				case <-prune:
					if _, err := hs.store.Prune(ctx); err != nil {
						fmt.Fprintf(env.Stderr, "rtclab serve: %v\n", err)
					}
				case <-cmd.Context().Done():
					break wait
				}
			}
			env.info("rtclab serve: closing the servers\n")
			return srv.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.IP, "ip", "", "IPv4 address to listen on (required)")
	f.StringVar(&cfg.AltIP, "alt-ip", "", "second IPv4 address of this host, for RFC 5780 NAT discovery")
	f.StringVar(&cfg.PublicHost, "public-host", "", "name or address put in the URLs handed to clients (default --ip)")
	f.IntVar(&cfg.TURNPort, "turn-port", 3478, "TURN port for UDP and TCP (0 picks a free one, -1 disables)")
	f.IntVar(&cfg.TLSPort, "tls-port", 5349, "TURN over TLS port (0 picks a free one, -1 disables)")
	f.IntVar(&cfg.STUNPort, "stun-port", 3479, "RFC 5780 responder's primary port (0 picks)")
	f.IntVar(&cfg.STUNAltPort, "stun-alt-port", 3480, "RFC 5780 responder's alternate port (0 picks)")
	f.IntVar(&httpPort, "http-port", 8080, "HTTP port of the test peer and config endpoint (0 picks)")
	f.StringVar(&cfg.Secret, "secret", "", "TURN REST shared secret (default: a random one, printed)")
	f.DurationVar(&ttl, "ttl", ttl, "lifetime of the credentials the config endpoint hands out")
	f.StringVar(&cert, "cert", "", "PEM certificate for TURN over TLS (default: self-signed)")
	f.StringVar(&key, "key", "", "PEM private key for --cert")
	f.BoolVar(&cfg.AllowPrivatePeers, "allow-private-peers", false, "let TURN relay to loopback and private addresses (labs and tests only)")
	f.StringSliceVar(&allowedPeers, "allowed-peer-ip", nil, "address or CIDR TURN may relay to although the policy refuses it (repeatable; like coturn's allowed-peer-ip)")
	f.StringSliceVar(&proxies, "trusted-proxy", nil, "address or CIDR of a reverse proxy in front of serve: from it, the client's address is read from Forwarded (RFC 7239) or X-Forwarded-For, right-most untrusted hop (repeatable; default none: those headers are ignored)")
	f.IntVar(&cfg.TURNSockets, "turn-sockets", 0, "UDP sockets on the TURN port, SO_REUSEPORT (0: one per CPU)")
	f.IntVar(&cfg.TURNBuffer, "turn-buffer", turn.DefaultSocketBuffer, "receive and send buffer asked for each TURN UDP socket, bytes")
	f.IntVar(&cfg.TURNQuota.PerIP, "turn-quota", 128, "allocations one client IP address may hold at once (0: no limit)")
	f.IntVar(&cfg.TURNQuota.TCPPerIP, "turn-tcp-quota", 32, "TURN TCP and TLS connections one client IP address may hold at once (0: no limit)")
	f.Float64Var(&cfg.TURNQuota.RatePerIP, "turn-rate", 20, "new allocations per second one client IP address may make, bursts of twice that (0: no limit)")
	f.Float64Var(&cfg.RequestsPerIP, "http-rate", 5, "HTTP requests per second one client IP address may make, bursts of --http-burst; past it 429 (0: no limit)")
	f.IntVar(&cfg.RequestBurst, "http-burst", 20, "burst of HTTP requests one client IP address may make at once")
	f.DurationVar(&cfg.ReadTimeout, "read-timeout", diagnose.DefaultReadTimeout, "time to read one HTTP request, headers and body (slow clients are cut off)")
	f.IntVar(&cfg.MaxPeers, "max-peers", 32, "test calls at once (each ends after 60 s); past it offers get 503")
	f.IntVar(&cfg.PeersPerCaller, "peers-per-ip", 6, "test calls one address (or one invite from one address) holds at once; past it 429 (0: the default)")
	f.DurationVar(&duration, "for", 0, "stop after this long (0: until Ctrl-C)")
	f.BoolVarP(&verbose, "verbose", "v", false, "log refused peers and auth failures to stderr")
	hist.register(f)
	return cmd
}

// noArgs refuses positional arguments as unusable input (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q (see '%s --help')", cmd.CommandPath(), args, cmd.CommandPath())
	}
	return nil
}
