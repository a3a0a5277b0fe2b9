package diagnose

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v3"

	"github.com/rtclab/rtclab/probes/pathprobe"
	"github.com/rtclab/rtclab/probes/turnprobe"
)

// Plan is what a diagnosis will do, as data: it can be built, printed and
// tested without a network.
type Plan struct {
	// Target describes what is diagnosed, for the report.
	Target string `json:"target"`
	// STUN is the STUN server "host:port" for the binding and the RFC 5780
	// tests; empty skips them.
	STUN string `json:"stun,omitempty"`
	// TURN are the TURN servers to allocate on, one per URL.
	TURN []TURNServer `json:"turn,omitempty"`
	// Peer is the test peer's signaling base URL (rtclab serve's HTTP
	// address); empty skips paths, quality and bandwidth.
	Peer string `json:"peer,omitempty"`
	// Paths are the path kinds to try to the test peer, best first.
	Paths []pathprobe.Kind `json:"paths"`
	// Timeout bounds the whole diagnosis.
	Timeout time.Duration `json:"timeout"`
	// NATTimeout bounds one RFC 5780 test.
	NATTimeout time.Duration `json:"nat_timeout"`
	// TURNTimeout bounds one allocation.
	TURNTimeout time.Duration `json:"turn_timeout"`
	// PathTimeout bounds connecting one path.
	PathTimeout time.Duration `json:"path_timeout"`
	// Ping is how long paced probes run; PingInterval paces them.
	Ping         time.Duration `json:"ping"`
	PingInterval time.Duration `json:"ping_interval"`
	// Transfer is how long each bandwidth direction runs.
	Transfer time.Duration `json:"transfer"`
}

// TURNServer is one TURN URL with its credentials.
type TURNServer struct {
	// URL is a turn: or turns: URL (RFC 7065).
	URL string `json:"url"`
	// Username and Password are the long-term credentials (never printed).
	Username string `json:"-"`
	Password string `json:"-"`
}

// Inputs are what the user gives; NewPlan checks them and fills defaults.
type Inputs struct {
	// Target describes the diagnosis for the report.
	Target string
	// STUN is "stun:host:port" or "host:port".
	STUN string
	// TURN are TURN URLs; Username and Password apply to all.
	TURN               []string
	Username, Password string
	// Peer is the test peer's base URL.
	Peer string
	// Timeout bounds the diagnosis; 0 means 15 s.
	Timeout time.Duration
}

// ErrPlan is wrapped by every error of NewPlan: unusable input.
var ErrPlan = errors.New("diagnose plan")

// The default budget, which fits 15 s even when every step times out:
// NAT and TURN in parallel (≤ 2.5 s), paths in parallel (≤ 4 s), probes
// (3 s), upload and download (2 × 2 s plus their tails).
const (
	DefaultTimeout     = 15 * time.Second
	defaultNATTimeout  = 800 * time.Millisecond
	defaultTURNTimeout = 2500 * time.Millisecond
	defaultPathTimeout = 4 * time.Second
	defaultPing        = 3 * time.Second
	defaultInterval    = 20 * time.Millisecond
	defaultTransfer    = 2 * time.Second
)

// NewPlan checks in and builds the plan. Every problem is reported.
func NewPlan(in Inputs) (Plan, error) {
	p := Plan{
		Target: in.Target, Peer: strings.TrimRight(in.Peer, "/"), Timeout: in.Timeout,
		NATTimeout: defaultNATTimeout, TURNTimeout: defaultTURNTimeout, PathTimeout: defaultPathTimeout,
		Ping: defaultPing, PingInterval: defaultInterval, Transfer: defaultTransfer,
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	var errs []error
	if in.STUN != "" {
		addr, err := stunAddr(in.STUN)
		if err != nil {
			errs = append(errs, err)
		}
		p.STUN = addr
	}
	seen := map[turnprobe.Transport]bool{}
	var relays []pathprobe.Kind
	for _, raw := range in.TURN {
		_, tr, err := turnprobe.ParseURL(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: --turn: %w", ErrPlan, err))
			continue
		}
		p.TURN = append(p.TURN, TURNServer{URL: raw, Username: in.Username, Password: in.Password})
		if !seen[tr] {
			seen[tr] = true
			relays = append(relays, relayKind(tr))
		}
	}
	if len(in.TURN) > 0 && (in.Username == "" || in.Password == "") {
		errs = append(errs, fmt.Errorf("%w: TURN needs credentials: give --user and --password, or --secret for REST credentials", ErrPlan))
	}
	if in.STUN == "" && len(in.TURN) == 0 && p.Peer == "" {
		errs = append(errs, fmt.Errorf("%w: nothing to diagnose: give --server, or --stun and/or --turn", ErrPlan))
	}
	if p.Peer != "" {
		if !strings.HasPrefix(p.Peer, "http://") && !strings.HasPrefix(p.Peer, "https://") {
			errs = append(errs, fmt.Errorf("%w: test peer %q: want an http:// or https:// URL", ErrPlan, in.Peer))
		}
		p.Paths = append(p.Paths, pathprobe.Host)
		if p.STUN != "" {
			p.Paths = append(p.Paths, pathprobe.Srflx)
		}
		for _, k := range []pathprobe.Kind{pathprobe.RelayUDP, pathprobe.RelayTCP, pathprobe.RelayTLS} {
			for _, r := range relays {
				if r == k {
					p.Paths = append(p.Paths, k)
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Plan{}, err
	}
	return p, nil
}

func relayKind(tr turnprobe.Transport) pathprobe.Kind {
	switch tr {
	case turnprobe.TCP:
		return pathprobe.RelayTCP
	case turnprobe.TLS:
		return pathprobe.RelayTLS
	}
	return pathprobe.RelayUDP
}

// stunAddr accepts "stun:host[:port]" or "host:port".
func stunAddr(s string) (string, error) {
	if strings.HasPrefix(s, "stun:") || strings.HasPrefix(s, "stuns:") {
		u, err := stun.ParseURI(s)
		if err != nil {
			return "", fmt.Errorf("%w: --stun %q: %w", ErrPlan, s, err)
		}
		if u.Scheme != stun.SchemeTypeSTUN {
			return "", fmt.Errorf("%w: --stun %q: only plain stun: over UDP is supported", ErrPlan, s)
		}
		return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", fmt.Errorf("%w: --stun %q: want stun:host:port or host:port", ErrPlan, s)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("%w: --stun %q: bad port", ErrPlan, s)
	}
	return s, nil
}

// TURNFor returns the first TURN server of a relay kind.
func (p Plan) TURNFor(k pathprobe.Kind) (TURNServer, bool) {
	for _, t := range p.TURN {
		if _, tr, err := turnprobe.ParseURL(t.URL); err == nil && relayKind(tr) == k {
			return t, true
		}
	}
	return TURNServer{}, false
}
