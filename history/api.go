package history

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rtclab/rtclab/internal/ratelimit"
)

// InviteHeader carries an invite token on the test page's requests.
const InviteHeader = "X-Rtclab-Invite"

// API limits per client IP address: new results (each one use of an
// invite) and replacements of a result.
const (
	DefaultPostsPerMinute = 6
	postBurst             = 10
	putsPerSecond         = 2
	putBurst              = 30
)

// APIConfig declares the HTTP API and console.
type APIConfig struct {
	// Store is the history (required).
	Store *Store
	// AdminToken guards the console and the admin API (required, at least
	// 16 characters).
	AdminToken string
	// PostsPerMinute is how many new results one client IP address may
	// post per minute (bursts of 10); 0 means DefaultPostsPerMinute,
	// negative no limit.
	PostsPerMinute float64
	// Webhook, when set, is told of every new complete result.
	Webhook *Webhook
	// Logger receives refusals and webhook failures; nil discards.
	Logger *slog.Logger
}

// API serves /api/v1/* and /console.
type API struct {
	cfg    APIConfig
	cookie string // the console session cookie's value
	posts  *ratelimit.PerAddr
	puts   *ratelimit.PerAddr
	log    *slog.Logger
	base   atomic.Pointer[string]
}

// SetBase sets the server's public base URL (scheme://host:port), known
// once it listens: the webhook's links to the console start with it.
func (a *API) SetBase(base string) { a.base.Store(&base) }

// notify tells the webhook of a new complete result.
func (a *API) notify(rec Record) {
	base := ""
	if b := a.base.Load(); b != nil {
		base = *b
	}
	a.cfg.Webhook.Notify(WebhookEvent{Event: "result.complete", URL: base + "/console/results/" + rec.ID, Record: rec})
}

// ErrAPIConfig wraps every configuration error of NewAPI.
var ErrAPIConfig = errors.New("history api config")

// MinAdminToken is the shortest admin token accepted.
const MinAdminToken = 16

// NewAPI checks cfg and makes the API.
func NewAPI(cfg APIConfig) (*API, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: Store is required", ErrAPIConfig)
	}
	if len(cfg.AdminToken) < MinAdminToken {
		return nil, fmt.Errorf("%w: --admin-token: want at least %d characters (or none: one is generated)", ErrAPIConfig, MinAdminToken)
	}
	if cfg.PostsPerMinute == 0 {
		cfg.PostsPerMinute = DefaultPostsPerMinute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mac := hmac.New(sha256.New, []byte(cfg.AdminToken))
	mac.Write([]byte("rtclab console session v1"))
	return &API{
		cfg: cfg, cookie: hex.EncodeToString(mac.Sum(nil)),
		posts: ratelimit.New(cfg.PostsPerMinute/60, postBurst), puts: ratelimit.New(putsPerSecond, putBurst), log: log,
	}, nil
}

// Register mounts the API and the console on mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/invites", a.admin(a.createInvite))
	mux.HandleFunc("GET /api/v1/invites", a.admin(a.listInvites))
	mux.HandleFunc("OPTIONS /api/v1/results", preflight)
	mux.HandleFunc("OPTIONS /api/v1/results/{id}", preflight)
	mux.HandleFunc("POST /api/v1/results", a.postResult)
	mux.HandleFunc("PUT /api/v1/results/{id}", a.putResult)
	mux.HandleFunc("GET /api/v1/results", a.admin(a.listResults))
	mux.HandleFunc("GET /api/v1/results/{id}", a.admin(a.getResult))
	mux.HandleFunc("GET /api/v1/runs/{id}", a.admin(a.getRun))
	mux.HandleFunc("GET /console", a.console)
	mux.HandleFunc("GET /console/results/{id}", a.admin(a.consoleResult))
	mux.HandleFunc("GET /console/runs/{id}", a.admin(a.consoleRun))
	mux.HandleFunc("POST /console/login", a.login)
	mux.HandleFunc("POST /console/logout", a.logout)
	mux.HandleFunc("POST /console/invites", a.admin(a.consoleInvite))
}

// isAdmin says whether r carries the admin token (Authorization: Bearer,
// RFC 6750 section 2.1) or the console's session cookie. Both compare in
// constant time.
func (a *API) isAdmin(r *http.Request) bool {
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return equal(strings.TrimSpace(auth), a.cfg.AdminToken)
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return equal(c.Value, a.cookie)
	}
	return false
}

// equal compares in constant time, whatever the lengths.
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func (a *API) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.isAdmin(r) {
			a.log.Info("history: refused without the admin token", "path", r.URL.Path, "from", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="rtclab"`)
			apiError(w, http.StatusUnauthorized, "this needs the admin token: Authorization: Bearer <token> (printed by rtclab serve, or its --admin-token)")
			return
		}
		// A form posted from another site with the session cookie is
		// refused (SameSite=Strict already keeps the cookie home; this is
		// the belt to its braces).
		if r.Method == http.MethodPost && r.Header.Get("Authorization") == "" && !sameOrigin(r) {
			apiError(w, http.StatusForbidden, "cross-origin form refused")
			return
		}
		h(w, r)
	}
}

func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	return strings.TrimPrefix(strings.TrimPrefix(o, "http://"), "https://") == r.Host
}

// apiError answers a JSON error {"error": "..."}.
func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// cors lets the test page call the result endpoints from another origin
// (it authenticates with its invite header, never with cookies).
func cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, PUT, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, "+InviteHeader)
	h.Set("Access-Control-Max-Age", "600")
}

func preflight(w http.ResponseWriter, _ *http.Request) {
	cors(w)
	w.WriteHeader(http.StatusNoContent)
}

// readBody reads at most limit bytes of r's body: a declared or actual
// body past it answers 413 before anything is parsed.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.ContentLength > limit {
		apiError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body of %d bytes: at most %d", r.ContentLength, limit))
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		apiError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", limit))
		return nil, false
	case err != nil:
		apiError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return nil, false
	}
	return b, true
}

// inviteCreateRequest is POST /api/v1/invites's body.
type inviteCreateRequest struct {
	Label     string   `json:"label"`
	ExpiresIn string   `json:"expires_in"`
	MaxUses   int      `json:"max_uses"`
	Servers   []string `json:"servers"`
}

// inviteResponse is an invite as the API shows it.
type inviteResponse struct {
	Invite
	URL string `json:"url,omitempty"`
}

func (a *API) createInvite(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r, 16<<10)
	if !ok {
		return
	}
	var req inviteCreateRequest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, `body: want {"label": "...", "expires_in": "72h", "max_uses": 5, "servers": ["https://eu.example.com:8080", ...]}: `+err.Error())
		return
	}
	inv, err := a.newInvite(r, req)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, inviteResponse{inv, inviteURL(r, inv.Token)})
}

func (a *API) newInvite(r *http.Request, req inviteCreateRequest) (Invite, error) {
	var ttl time.Duration
	if req.ExpiresIn != "" {
		d, err := ParseAge(req.ExpiresIn)
		if err != nil {
			return Invite{}, fmt.Errorf("expires_in %q: %w", req.ExpiresIn, err)
		}
		ttl = d
	}
	inv, err := a.cfg.Store.CreateInvite(r.Context(), NewInvite{Label: req.Label, TTL: ttl, MaxUses: req.MaxUses, Servers: req.Servers})
	if err != nil {
		return Invite{}, err
	}
	a.log.Info("history: invite created", "id", inv.ID, "label", inv.Label, "expires", inv.Expires)
	return inv, nil
}

// inviteURL is the test page's link for token on the host r came to.
// Behind a trusted reverse proxy, serve puts the scheme the client used
// in r.URL.Scheme (diagnose's fromProxies).
func inviteURL(r *http.Request, token string) string {
	scheme := "http"
	if r.TLS != nil || r.URL.Scheme == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/t/" + token
}

// ParseAge reads a duration with days: "90d", "72h", "1h30m".
func ParseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("want a duration such as 90d, 72h or 30m")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("want a duration such as 90d, 72h or 30m")
	}
	return v, nil
}

func (a *API) listInvites(w http.ResponseWriter, r *http.Request) {
	list, err := a.cfg.Store.Invites(r.Context())
	if err != nil {
		a.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (a *API) internal(w http.ResponseWriter, err error) {
	a.log.Error("history", "err", err)
	apiError(w, http.StatusInternalServerError, "internal error (logged by the server)")
}

// limited answers 429 with Retry-After when l refuses r's address.
func limited(w http.ResponseWriter, r *http.Request, l *ratelimit.PerAddr, what string) bool {
	wait, ok := l.Take(clientIP(r))
	if ok {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
	apiError(w, http.StatusTooManyRequests, "too many "+what+" from this address")
	return true
}

func clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// observed is the client's address as stored with its result.
func observed(r *http.Request) string {
	if ip := clientIP(r); ip.IsValid() {
		return ip.String()
	}
	return r.RemoteAddr
}

// resultCreated is POST /api/v1/results's answer.
type resultCreated struct {
	ID string `json:"id"`
	// Run is the page run it belongs to (its own ID for the first).
	Run string `json:"run,omitempty"`
	URL string `json:"url"`
}

// caller says who posts: the admin, or the holder of an invite; ok false
// means it answered already.
func (a *API) caller(w http.ResponseWriter, r *http.Request) (invite string, admin, ok bool) {
	invite = r.Header.Get(InviteHeader)
	switch {
	case invite != "":
		return invite, false, true
	case a.isAdmin(r) && r.Header.Get("Authorization") != "":
		return "", true, true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="rtclab"`)
	apiError(w, http.StatusUnauthorized, "posting a result needs an invite ("+InviteHeader+" header) or the admin token (Authorization: Bearer)")
	return "", false, false
}

func (a *API) postResult(w http.ResponseWriter, r *http.Request) {
	cors(w)
	invite, _, ok := a.caller(w, r)
	if !ok || limited(w, r, a.posts, "new results") {
		return
	}
	b, ok := readBody(w, r, MaxResultBytes)
	if !ok {
		return
	}
	label := r.URL.Query().Get("label")
	rec, err := a.cfg.Store.Add(r.Context(), Post{Invite: invite, Label: label, Body: b, Observed: observed(r), Run: r.URL.Query().Get("run")})
	if a.storeError(w, r, err) {
		return
	}
	a.log.Info("history: result stored", "id", rec.ID, "label", rec.Label, "verdict", rec.Verdict, "partial", rec.Partial)
	if !rec.Partial {
		a.notify(rec)
	}
	writeJSON(w, http.StatusCreated, resultCreated{ID: rec.ID, Run: rec.Run, URL: "/console/results/" + rec.ID})
}

func (a *API) putResult(w http.ResponseWriter, r *http.Request) {
	cors(w)
	invite, admin, ok := a.caller(w, r)
	if !ok || limited(w, r, a.puts, "result updates") {
		return
	}
	b, ok := readBody(w, r, MaxResultBytes)
	if !ok {
		return
	}
	id := r.PathValue("id")
	rec, final, err := a.cfg.Store.Replace(r.Context(), id, Post{Invite: invite, Body: b, Observed: observed(r)}, admin)
	if a.storeError(w, r, err) {
		return
	}
	if final {
		a.notify(rec)
	}
	writeJSON(w, http.StatusOK, resultCreated{ID: rec.ID, URL: "/console/results/" + rec.ID})
}

// storeError answers the store's refusals with their status codes; it
// returns false when err is nil.
func (a *API) storeError(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrInvalid):
		apiError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "history: invalid: "))
	case errors.Is(err, ErrInviteUnknown), errors.Is(err, ErrNotFound):
		a.log.Info("history: refused", "err", err, "from", r.RemoteAddr)
		apiError(w, http.StatusNotFound, strings.TrimPrefix(err.Error(), "history: "))
	case errors.Is(err, ErrInviteExpired), errors.Is(err, ErrInviteUsedUp):
		apiError(w, http.StatusGone, strings.TrimPrefix(err.Error(), "history: ")+": ask your support contact for a new link")
	case errors.Is(err, ErrFinal):
		apiError(w, http.StatusConflict, strings.TrimPrefix(err.Error(), "history: "))
	default:
		a.internal(w, err)
	}
	return true
}

func (a *API) getResult(w http.ResponseWriter, r *http.Request) {
	rec, err := a.cfg.Store.Get(r.Context(), r.PathValue("id"))
	if a.storeError(w, r, err) {
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// getRun answers the ranking of a page run's servers (rtclab diagnose's
// Comparison: the same rule as diagnose --server A --server B).
func (a *API) getRun(w http.ResponseWriter, r *http.Request) {
	recs, err := a.cfg.Store.Run(r.Context(), r.PathValue("id"))
	if a.storeError(w, r, err) {
		return
	}
	c, err := RunComparison(recs)
	if err != nil {
		a.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
