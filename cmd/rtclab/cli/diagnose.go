package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pion/stun/v3"
	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/stack/turn"
)

func newDiagnoseCmd(env *Env) *cobra.Command {
	var (
		stunURL, peer, user, password, secret string
		servers                               []string
		up                                    uploadFlags
		turns, localIPs                       []string
		tlsCA, htmlFile                       string
		tlsInsecure, asJSON, verbose          bool
		timeout                               = diagnose.DefaultTimeout
	)
	cmd := &cobra.Command{
		Use:   "diagnose (--server URL... | --stun URL --turn URL ...)",
		Short: "Check this machine's network for WebRTC calls in about 15 seconds",
		Long: `Check, from this machine, whether WebRTC calls will work and how well:

  - STUN over UDP: reachable, RTT, the mapped (public) address;
  - NAT behaviour per RFC 5780: mapping and filtering, and the common name
    (full cone ... symmetric); inconclusive when the STUN server has no
    OTHER-ADDRESS;
  - TURN allocations over UDP, TCP and TLS, each with its time or why it
    failed (timeout, refused, auth, tls, dns);
  - which ICE paths reach the test peer: host, server-reflexive, relay
    over UDP/TCP/TLS;
  - RTT, jitter and loss of paced probes over the best path and the relay;
  - bandwidth up and down over a data channel;
  - an audio MOS estimate (E-model) and the video resolution the bandwidth
    carries; the local addresses ICE would reveal.

Point it at an 'rtclab serve' (--server: it hands out the URLs, credentials
and the test peer), or at any STUN/TURN server with --stun, --turn and
credentials (--user/--password, or --secret for coturn REST credentials);
without a test peer (--server or --peer) paths, quality and bandwidth are
skipped. Thresholds and the JSON schema (rtclab.diagnose/v1) are in
docs/diagnose.md.

Several --server flags diagnose each server in turn and rank them in one
table (text, --json, --html) by the same measurements: verdict, direct
before relayed, audio MOS, RTT, then bandwidth.

--upload posts the result (rtclab.diagnose/v1) into the server's history,
where its console shows it (docs/serve.md): with --invite TOKEN (a
support engineer's invite link; the result takes its label) or with the
admin token (--admin-token or $RTCLAB_ADMIN_TOKEN, and --label). With
several --server, every result goes into the first one's history.

Exit code: 0 the verdict is good or warn, 1 it is bad (with several
servers: the best one's is bad), the diagnosis could not run or the upload
failed (the report is printed first), 2 unusable input.`,
		Example: `  rtclab diagnose --server http://turn.example.com:8080
  rtclab diagnose --stun stun:turn.example.com:3478 \
      --turn 'turn:turn.example.com:3478?transport=udp' \
      --turn 'turns:turn.example.com:443?transport=tcp' --secret "$TURN_SECRET"
  rtclab diagnose --server http://127.0.0.1:8080 --json > diag.json --html diag.html
  rtclab diagnose --server http://eu.example.com:8080 --upload --invite 'http://eu.example.com:8080/t/TOKEN'
  rtclab diagnose --server http://eu.example.com:8080 --server http://us.example.com:8080 --html servers.html`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stopOnInterrupt(ctx, env, cancel)
			if tlsInsecure && tlsCA != "" {
				return usagef("diagnose: --tls-ca and --tls-insecure exclude each other")
			}
			if secret != "" && (user != "" || password != "") {
				return usagef("diagnose: give --secret (REST credentials) or --user/--password, not both")
			}
			for _, server := range servers {
				if err := checkHTTPURL(server); err != nil {
					return usagef("diagnose: --server %q: %v", server, err)
				}
			}
			if len(servers) > 1 && (stunURL != "" || len(turns) > 0 || peer != "") {
				return usagef("diagnose: with several --server, each server hands out its own URLs: drop --stun, --turn and --peer")
			}
			up, err := up.check(servers)
			if err != nil {
				return err
			}
			var ips []net.IP
			for _, s := range localIPs {
				ip := net.ParseIP(s)
				if ip == nil {
					return usagef("diagnose: --local-ip %q: not an IP address", s)
				}
				ips = append(ips, ip)
			}
			httpClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
			defer httpClient.CloseIdleConnections()
			var tlsPEM []byte
			if tlsCA != "" {
				if tlsPEM, err = os.ReadFile(tlsCA); err != nil {
					return usagef("diagnose: --tls-ca: %v", err)
				}
				if !x509.NewCertPool().AppendCertsFromPEM(tlsPEM) {
					return usagef("diagnose: --tls-ca %s: no PEM certificate in it", tlsCA)
				}
			}
			// runOne diagnoses one server (or the --stun/--turn given
			// without one, server "").
			runOne := func(server string) (diagnose.Result, error) {
				tlsCfg := &tls.Config{InsecureSkipVerify: tlsInsecure} //nolint:gosec // only with --tls-insecure
				if tlsPEM != nil {
					pool := x509.NewCertPool()
					pool.AppendCertsFromPEM(tlsPEM)
					tlsCfg.RootCAs = pool
				}
				in := diagnose.Inputs{
					STUN: stunURL, TURN: turns, Username: user, Password: password, Peer: peer, Timeout: timeout,
				}
				var target []string
				if server != "" {
					target = append(target, server)
					fctx, fcancel := context.WithTimeout(ctx, 5*time.Second)
					info, err := diagnose.FetchServer(fctx, httpClient, server)
					fcancel()
					if errors.Is(err, diagnose.ErrPlan) {
						return diagnose.Result{}, &UsageError{Err: err}
					}
					if err != nil {
						return diagnose.Result{}, fmt.Errorf("diagnose: cannot reach the rtclab server: %w\n(is 'rtclab serve' running there, and is its HTTP port open from here?)", err)
					}
					if in.STUN == "" {
						in.STUN = info.STUN
					}
					if len(in.TURN) == 0 {
						in.TURN = info.TURN
					}
					if in.Username == "" && secret == "" {
						in.Username, in.Password = info.Username, info.Password
					}
					if in.Peer == "" {
						in.Peer = server
					}
					if pool := info.CertPool(); pool != nil && tlsCA == "" && !tlsInsecure {
						tlsCfg.RootCAs = pool
					}
				} else {
					if stunURL != "" {
						target = append(target, stunURL)
					}
					target = append(target, turns...)
				}
				if secret != "" {
					u, p, err := turn.Credentials(secret, "rtclab-diagnose", time.Hour)
					if err != nil {
						return diagnose.Result{}, err
					}
					in.Username, in.Password = u, p
				}
				in.Target = strings.Join(target, " ")
				plan, err := diagnose.NewPlan(in)
				if err != nil {
					return diagnose.Result{}, &UsageError{Err: err}
				}
				opts := diagnose.Options{
					HTTPClient: httpClient, TLSConfig: tlsCfg, LocalIPs: ips,
					IncludeLoopback: loopbackTarget(plan), Version: describeBuild(env.build),
				}
				if (!asJSON || verbose) && !env.quiet {
					prefix := "rtclab diagnose: "
					if len(servers) > 1 {
						prefix += server + ": "
					}
					opts.Progress = func(step string) { fmt.Fprintf(env.Stderr, "%s%s ...\n", prefix, step) }
				}
				res, err := diagnose.Run(ctx, plan, opts)
				if err != nil {
					return res, fmt.Errorf("diagnose: %w", err)
				}
				res.Client = &diagnose.Client{Kind: "cli", UserAgent: "rtclab " + describeBuild(env.build)}
				return res, nil
			}
			env.onStop("cancelling the probes; what they measured so far is reported")
			if len(servers) <= 1 {
				server := ""
				if len(servers) == 1 {
					server = servers[0]
				}
				res, err := runOne(server)
				if err != nil {
					return err
				}
				if err := writeDiagnosis(env, res, asJSON, htmlFile); err != nil {
					return err
				}
				if err := up.upload(ctx, env, httpClient, server, res); err != nil {
					return err
				}
				if res.Verdict.Level == diagnose.Bad {
					return &exitError{code: ExitFail}
				}
				return nil
			}
			var results []diagnose.Result
			for _, server := range servers {
				res, err := runOne(server)
				if err != nil {
					return err
				}
				results = append(results, res)
				if ctx.Err() != nil {
					break // Ctrl-C: rank what was measured
				}
			}
			cmp := diagnose.Rank(servers[:len(results)], results)
			if err := writeComparison(env, cmp, asJSON, htmlFile); err != nil {
				return err
			}
			for _, res := range results {
				// One history holds the comparison: the first server's.
				if err := up.upload(ctx, env, httpClient, servers[0], res); err != nil {
					return err
				}
			}
			if cmp.Servers[0].Verdict == diagnose.Bad {
				return &exitError{code: ExitFail}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&servers, "server", nil, "an 'rtclab serve' HTTP URL: STUN/TURN URLs, credentials and the test peer come from it (repeat to compare servers)")
	f.StringVar(&stunURL, "stun", "", "STUN server, stun:host:port (RFC 5780 support gives the NAT behaviour)")
	f.StringArrayVar(&turns, "turn", nil, "TURN URL, repeatable: turn:host:port?transport=udp|tcp, turns:host:port")
	f.StringVar(&user, "user", "", "TURN username")
	f.StringVar(&password, "password", "", "TURN password")
	f.StringVar(&secret, "secret", "", "TURN REST shared secret (coturn use-auth-secret): make credentials from it")
	f.StringVar(&peer, "peer", "", "test peer base URL (default --server)")
	f.StringVar(&tlsCA, "tls-ca", "", "PEM file of the CA that signed the turns: server's certificate")
	f.BoolVar(&tlsInsecure, "tls-insecure", false, "do not verify the turns: server's certificate")
	f.StringArrayVar(&localIPs, "local-ip", nil, "only use this local address for ICE (repeatable)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON (schema rtclab.diagnose/v1) instead of text")
	f.StringVar(&htmlFile, "html", "", "also write an HTML report with plots to this file")
	f.DurationVar(&timeout, "timeout", timeout, "bound for the whole diagnosis")
	f.BoolVarP(&verbose, "verbose", "v", false, "print progress even with --json")
	up.register(f)
	return cmd
}

// stopOnInterrupt cancels ctx when the user presses Ctrl-C.
func stopOnInterrupt(ctx context.Context, env *Env, cancel context.CancelFunc) {
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if env.Interrupt.Load() {
					cancel()
					return
				}
			}
		}
	}()
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("want an http:// or https:// URL, e.g. http://turn.example.com:8080")
	}
	if u.Host == "" {
		return errors.New("no host in it")
	}
	return nil
}

// loopbackTarget says whether the servers are on this machine, so that ICE
// must use loopback addresses.
func loopbackTarget(p diagnose.Plan) bool {
	hosts := []string{}
	if p.STUN != "" {
		h, _, _ := net.SplitHostPort(p.STUN)
		hosts = append(hosts, h)
	}
	for _, t := range p.TURN {
		if u, err := stun.ParseURI(t.URL); err == nil {
			hosts = append(hosts, u.Host)
		}
	}
	if u, err := url.Parse(p.Peer); err == nil && p.Peer != "" {
		hosts = append(hosts, u.Hostname())
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); (ip != nil && ip.IsLoopback()) || h == "localhost" {
			return true
		}
	}
	return false
}
