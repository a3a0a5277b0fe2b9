package conform

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/pion/stun/v3"

	"github.com/rtclab/rtclab/stack/turn"
)

// Labels is the declared vocabulary of check labels; every check carries
// its area labels and exactly one of "must" and "should".
var Labels = []string{"stun", "turn", "rfc6062", "rfc5780", "rfc7635", "security", "must", "should"}

// Level is the RFC 2119 strength of the requirement a check enforces.
type Level string

// Levels: only a failed MUST fails the run (exit 1).
const (
	Must   Level = "must"
	Should Level = "should"
)

// Status is the outcome of one check against one server.
type Status string

// Statuses.
const (
	// Pass: the server did what the RFC asks.
	Pass Status = "pass"
	// Fail: it did not; Detail says what it did instead.
	Fail Status = "fail"
	// NotSupported: the check is about an optional extension (RFC 5780,
	// RFC 6062, RFC 7635, TLS) the server does not claim.
	NotSupported Status = "not-supported"
	// Skipped: the check could not be taken here (the operator allowed
	// the address, or the suite lacks a peer address), never a verdict.
	Skipped Status = "skipped"
	// Error: the measurement itself broke (e.g. the precondition, an
	// allocation, was refused); counts as a failure of the run.
	Error Status = "error"
)

// Check is one conformance check. Its test name and RFC 2119 description
// live in the comment above its declaration (extracted into
// conformance.yaml); the struct holds what running it needs.
type Check struct {
	// ID is the test name, e.g. "turn-allocate".
	ID string
	// Section is the RFC section it enforces, e.g. "RFC 8656 §7.2".
	Section string
	// Level is MUST or SHOULD.
	Level Level
	// Labels are area labels from Labels (the level is added by AllLabels).
	Labels []string
	// Summary is the one-line title printed by the runner.
	Summary string
	// TURN marks checks that need a TURN URL (and credentials).
	TURN bool
	// Run takes the measurement.
	Run func(ctx context.Context, e *env) Outcome
}

// AllLabels are the check's labels including its level.
func (c Check) AllLabels() []string { return append(slices.Clone(c.Labels), string(c.Level)) }

// Outcome is what one run of a check found.
type Outcome struct {
	Status Status
	Detail string
}

func pass(format string, a ...any) Outcome { return Outcome{Pass, fmt.Sprintf(format, a...)} }
func fail(format string, a ...any) Outcome { return Outcome{Fail, fmt.Sprintf(format, a...)} }
func unsupported(format string, a ...any) Outcome {
	return Outcome{NotSupported, fmt.Sprintf(format, a...)}
}
func skip(format string, a ...any) Outcome { return Outcome{Skipped, fmt.Sprintf(format, a...)} }
func broken(err error) Outcome             { return Outcome{Error, err.Error()} }

// Target is one server URL to check and what the suite may use.
type Target struct {
	// URL as given: stun:, turn: or turns:, with ?transport=tcp.
	URL string
	// Transport is "udp", "tcp" or "tls"; Addr is "host:port".
	Transport, Addr string
	// TURN is true for turn: and turns: URLs.
	TURN bool
	// Username and Password are long-term credentials (RFC 8489 §9.2).
	Username, Password string
	// Secret, when set instead, is a TURN REST shared secret: each check
	// then mints its own user name, so that allocations a server keeps
	// after a check do not count against the next check's quota.
	Secret string
	// PeerIPs are addresses of this machine the server is allowed to relay
	// to: the relaying checks run UDP listeners there. Without them those
	// checks are skipped.
	PeerIPs []net.IP
	// Allowed are peer ranges the operator deliberately allowed: the
	// security checks skip them instead of failing.
	Allowed []netip.Prefix
	// Quota is the server's configured allocation quota per user, 0 when
	// none is configured (the 486 check is then skipped).
	Quota int
	// TLSConfig is used for turns: URLs.
	TLSConfig *tls.Config
	// Timeout bounds each transaction; 0 means 500 ms.
	Timeout time.Duration
}

// ErrURL is wrapped by every unusable URL.
var ErrURL = errors.New("conform url")

// ParseURL fills the URL, transport and address of a target from a
// stun:/turn:/turns: URL (RFC 7064, RFC 7065).
func ParseURL(raw string) (Target, error) {
	u, err := stun.ParseURI(raw)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %q: %w (want stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT])", ErrURL, raw, err)
	}
	t := Target{URL: raw, Addr: net.JoinHostPort(u.Host, strconv.Itoa(u.Port)), Transport: "udp"}
	switch u.Scheme {
	case stun.SchemeTypeSTUNS:
		t.Transport = "tls"
	case stun.SchemeTypeTURN:
		t.TURN = true
		if u.Proto == stun.ProtoTypeTCP {
			t.Transport = "tcp"
		}
	case stun.SchemeTypeTURNS:
		t.TURN, t.Transport = true, "tls"
	}
	return t, nil
}

// env is what a running check uses; everything it opens is closed after.
type env struct {
	t       Target
	closers []func()
	// wrongPassword makes every session of the check authenticate with a
	// password that is not the user's.
	wrongPassword bool
}

// checkSeq numbers the user names minted from a REST secret.
var checkSeq atomic.Int64

// credentials are the check's user name and password, minted once per
// check from Target.Secret when there is one.
func (e *env) credentials() (string, string) {
	if e.t.Secret != "" && e.t.Username == "" {
		u, p, err := turn.Credentials(e.t.Secret, fmt.Sprintf("rtclab-conform-%d", checkSeq.Add(1)), time.Hour)
		if err == nil {
			e.t.Username, e.t.Password = u, p
		}
	}
	if e.wrongPassword {
		return e.t.Username, e.t.Password + "-wrong"
	}
	return e.t.Username, e.t.Password
}

func (e *env) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// Result is one check against one target.
type Result struct {
	// Check is the test name.
	Check string `json:"check"`
	// Section is the RFC section enforced.
	Section string `json:"section"`
	// Level is "must" or "should".
	Level Level `json:"level"`
	// Labels are the check's labels, level included.
	Labels []string `json:"labels"`
	// Summary is the check's one-line title.
	Summary string `json:"summary"`
	// URL is the target.
	URL string `json:"url"`
	// Status is pass, fail, not-supported, skipped or error.
	Status Status `json:"status"`
	// Detail says what the server did.
	Detail string `json:"detail,omitempty"`
	// Seconds is the check's wall time.
	Seconds float64 `json:"seconds"`
}

// Failed reports whether r fails the run: a failed MUST or an error.
func (r Result) Failed() bool {
	return r.Status == Error || (r.Status == Fail && r.Level == Must)
}

// Filter selects checks by a Ginkgo label-filter expression
// ("security && !should"); empty selects all.
func Filter(expr string) (func(Check) bool, error) {
	if strings.TrimSpace(expr) == "" {
		return func(Check) bool { return true }, nil
	}
	f, err := types.ParseLabelFilter(expr)
	if err != nil {
		return nil, fmt.Errorf("label filter %q: %w (labels: %s)", expr, err, strings.Join(Labels, ", "))
	}
	return func(c Check) bool { return f(c.AllLabels()) }, nil
}

// Run runs every selected check that applies to each target, one after
// another, calling progress (may be nil) after each.
func Run(ctx context.Context, targets []Target, selected func(Check) bool, progress func(Result)) []Result {
	var out []Result
	for _, t := range targets {
		if t.Timeout <= 0 {
			t.Timeout = 500 * time.Millisecond
		}
		for _, c := range Checks() {
			if !selected(c) || (c.TURN && !t.TURN) {
				continue
			}
			if ctx.Err() != nil {
				return out
			}
			r := RunOne(ctx, t, c)
			out = append(out, r)
			if progress != nil {
				progress(r)
			}
		}
	}
	return out
}

// RunOne runs check c against t.
func RunOne(ctx context.Context, t Target, c Check) Result {
	if t.Timeout <= 0 {
		t.Timeout = 500 * time.Millisecond
	}
	start := time.Now()
	e := &env{t: t}
	cctx, cancel := context.WithTimeout(ctx, 30*t.Timeout+5*time.Second)
	o := c.Run(cctx, e)
	cancel()
	e.close()
	return Result{
		Check: c.ID, Section: c.Section, Level: c.Level, Labels: c.AllLabels(), Summary: c.Summary,
		URL: t.URL, Status: o.Status, Detail: o.Detail, Seconds: time.Since(start).Seconds(),
	}
}
