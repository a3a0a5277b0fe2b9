package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/conform"
)

func newConformCmd(env *Env) *cobra.Command {
	var (
		secret, user, password string
		junitPath, jsonPath    string
		htmlPath, filter       string
		peerIPs, allowed       []string
		quota                  int
		timeout                = 500 * time.Millisecond
		insecure               bool
	)
	cmd := &cobra.Command{
		Use:   "conform URL... (--secret S | --user U --password P)",
		Short: "Check a STUN/TURN server against the RFCs' MUSTs and for relay security holes",
		Long: `Run every conformance and security check that applies to each server URL
(stun:HOST:PORT, turn:HOST:PORT[?transport=tcp], turns:HOST:PORT) and print
one line per check with the RFC section it enforces, then a summary.

Checks: STUN (RFC 8489), TURN (RFC 8656), RFC 5780 NAT behaviour
discovery, RFC 6062 TCP allocations, RFC 7635 OAuth (the optional ones are
"not supported", not failed, when the server does not claim them), and
security (label 'security'): relaying to loopback, private, link-local,
unspecified, IPv4-mapped, NAT64, CGNAT, reserved, broadcast and multicast
addresses, to the server's own ports, open relay, amplification, failed-
authentication rate limiting. A bypass is proven by relaying to a listener
the suite runs on this machine's loopback, never by probing anything else.

Relaying checks need --peer-ip: addresses of this machine the server may
relay to (two for turn-no-permission). Ranges the operator allowed on
purpose are given with --allowed-peer-ip and skipped, not failed.

--label-filter takes a Ginkgo label expression over: ` + strings.Join(conform.Labels, ", ") + `.

Exit codes: 0 every MUST holds, 1 a MUST failed (or a check could not be
taken), 2 unusable input. A failed SHOULD is reported, not failing.`,
		Example: `  rtclab conform turn:turn.example.com:3478 turn:turn.example.com:3478?transport=tcp --secret S
  rtclab conform turn:127.0.0.1:3478 stun:127.0.0.1:3479 --secret S --peer-ip 127.0.0.2 --peer-ip 127.0.0.3 \
      --label-filter 'security || turn' --junit conform.xml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("conform: give at least one server URL (stun:, turn:, turns:; see 'rtclab conform --help')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if secret != "" && (user != "" || password != "") {
				return usagef("conform: --secret and --user/--password exclude each other")
			}
			if (user == "") != (password == "") {
				return usagef("conform: --user and --password go together")
			}
			sel, err := conform.Filter(filter)
			if err != nil {
				return &UsageError{Err: fmt.Errorf("conform: --label-filter: %w", err)}
			}
			var peers []net.IP
			for _, p := range peerIPs {
				ip := net.ParseIP(p)
				if ip == nil {
					return usagef("conform: --peer-ip %q: want an IP address of this machine", p)
				}
				peers = append(peers, ip)
			}
			var allow []netip.Prefix
			for _, a := range allowed {
				pfx, err := parsePrefix(a)
				if err != nil {
					return usagef("conform: --allowed-peer-ip %q: want an address or CIDR prefix", a)
				}
				allow = append(allow, pfx)
			}
			var targets []conform.Target
			for _, raw := range args {
				t, err := conform.ParseURL(raw)
				if err != nil {
					return &UsageError{Err: err}
				}
				if t.TURN {
					switch {
					case secret != "":
						t.Secret = secret
					case user != "":
						t.Username, t.Password = user, password
					default:
						return usagef("conform: %s is a TURN URL: give --secret (TURN REST) or --user and --password", raw)
					}
				}
				t.PeerIPs, t.Allowed, t.Quota, t.Timeout = peers, allow, quota, timeout
				t.TLSConfig = &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // operator's choice, for self-signed test servers
				targets = append(targets, t)
			}
			started := env.now().UTC().Format(time.RFC3339)
			results := conform.Run(cmd.Context(), targets, sel, func(r conform.Result) {
				fmt.Fprintf(env.Stdout, "%-40s %s\n", r.URL, conform.Line(r))
			})
			rep := conform.NewReport(env.Version, started, filter, results)
			if err := conform.WriteSummary(env.Stdout, rep); err != nil {
				return err
			}
			for _, out := range []struct {
				path  string
				write func(io.Writer, *conform.Report) error
			}{{junitPath, conform.WriteJUnit}, {jsonPath, conform.WriteJSON}, {htmlPath, conform.WriteHTML}} {
				if out.path == "" {
					continue
				}
				if err := writeFileWith(out.path, func(w io.Writer) error { return out.write(w, rep) }); err != nil {
					return err
				}
			}
			if len(results) == 0 {
				return usagef("conform: the label filter %q selects no check", filter)
			}
			if !rep.Passed() {
				return &exitError{code: ExitFail}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&secret, "secret", "", "TURN REST shared secret (coturn use-auth-secret)")
	f.StringVar(&user, "user", "", "long-term credential user name")
	f.StringVar(&password, "password", "", "long-term credential password")
	f.StringSliceVar(&peerIPs, "peer-ip", nil, "address of this machine the server may relay to (repeat for a second one)")
	f.StringSliceVar(&allowed, "allowed-peer-ip", nil, "address or CIDR the operator allowed on purpose: its security check is skipped")
	f.IntVar(&quota, "quota", 0, "the server's allocation quota per user, to check 486 (0: not configured)")
	f.DurationVar(&timeout, "timeout", timeout, "time to wait for each answer")
	f.BoolVar(&insecure, "insecure", false, "accept any TLS certificate (self-signed test servers)")
	f.StringVar(&filter, "label-filter", "", "Ginkgo label expression selecting checks, e.g. 'security && !should'")
	f.StringVar(&junitPath, "junit", "", "write JUnit XML here")
	f.StringVar(&jsonPath, "json", "", "write the JSON report here")
	f.StringVar(&htmlPath, "html", "", "write the HTML report here")
	return cmd
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// writeFileWith creates path and writes it with write.
func writeFileWith(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	return write(f)
}
