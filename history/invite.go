package history

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rtclab/rtclab/diagnose"
)

// Invite limits.
const (
	// TokenBytes is the randomness of a token: 192 bits, well past the
	// 128 that make guessing hopeless.
	TokenBytes = 24
	// DefaultInviteTTL is an invite's life when none is asked for.
	DefaultInviteTTL = 72 * time.Hour
	// MaxInviteTTL bounds an invite's life.
	MaxInviteTTL = 90 * 24 * time.Hour
	// MaxInviteUses bounds an invite's uses.
	MaxInviteUses = 1000
	// MaxLabel bounds a label, in characters.
	MaxLabel = 200
	// MaxServers bounds the servers one invite's page measures and ranks.
	MaxServers = diagnose.MaxRankServers
)

// Invite is a link a customer may run the test page with.
type Invite struct {
	// Token is the secret in the link; only known when the invite is made
	// or looked up by it (the database keeps its SHA-256).
	Token string `json:"token,omitempty"`
	// ID names the invite without revealing it: the first 12 hex digits of
	// the token's SHA-256.
	ID string `json:"id"`
	// Label says whom it is for (customer, ticket).
	Label string `json:"label"`
	// Created and Expires bound its life.
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// MaxUses is how many results it may post; Uses how many it has.
	MaxUses int `json:"max_uses"`
	Uses    int `json:"uses"`
	// Servers are the rtclab serve base URLs the page measures, each in
	// turn, and ranks as rtclab diagnose --server A --server B does;
	// empty means only the server that serves the page. One run of the
	// page posts one result per server and takes one use.
	Servers []string `json:"servers,omitempty"`
}

// NewInvite asks for an invite.
type NewInvite struct {
	Label   string
	TTL     time.Duration // 0: DefaultInviteTTL
	MaxUses int           // 0: 1
	Servers []string      // CheckServers
}

// CheckServers refuses a server list the page could not use: at most
// MaxServers http(s) base URLs (scheme, host and port, nothing after), no
// repeats. It returns them without a trailing slash.
func CheckServers(servers []string) ([]string, error) {
	if len(servers) > MaxServers {
		return nil, fmt.Errorf("%w: servers: %d of them: at most %d", ErrInvalid, len(servers), MaxServers)
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range servers {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, " \t\n\"';,<>\\") {
			return nil, fmt.Errorf("%w: servers: %q: want an rtclab serve base URL such as https://eu.example.com:8080", ErrInvalid, s)
		}
		base := u.Scheme + "://" + u.Host
		if seen[base] {
			return nil, fmt.Errorf("%w: servers: %q is named twice", ErrInvalid, s)
		}
		seen[base] = true
		out = append(out, base)
	}
	return out, nil
}

// hashToken is the stored form of a token.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// validToken says whether token could be one of ours (base64url of
// TokenBytes), so that junk is refused before touching the database.
func validToken(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(TokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

// CheckLabel refuses labels that are too long or not text.
func CheckLabel(label string) error {
	if !utf8.ValidString(label) || utf8.RuneCountInString(label) > MaxLabel || strings.ContainsAny(label, "\x00\r\n") {
		return fmt.Errorf("%w: label: want at most %d characters of one line of text", ErrInvalid, MaxLabel)
	}
	return nil
}

// CreateInvite makes an invite with a fresh random token.
func (s *Store) CreateInvite(ctx context.Context, n NewInvite) (Invite, error) {
	if err := CheckLabel(n.Label); err != nil {
		return Invite{}, err
	}
	if n.TTL == 0 {
		n.TTL = DefaultInviteTTL
	}
	if n.TTL < time.Minute || n.TTL > MaxInviteTTL {
		return Invite{}, fmt.Errorf("%w: expires_in %s: want 1m to %s", ErrInvalid, n.TTL, MaxInviteTTL)
	}
	if n.MaxUses == 0 {
		n.MaxUses = 1
	}
	if n.MaxUses < 1 || n.MaxUses > MaxInviteUses {
		return Invite{}, fmt.Errorf("%w: max_uses %d: want 1 to %d", ErrInvalid, n.MaxUses, MaxInviteUses)
	}
	servers, err := CheckServers(n.Servers)
	if err != nil {
		return Invite{}, err
	}
	b := make([]byte, TokenBytes)
	if _, err := rand.Read(b); err != nil {
		return Invite{}, fmt.Errorf("history: token: %w", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	inv := Invite{
		Token: base64.RawURLEncoding.EncodeToString(b), Label: n.Label,
		Created: now, Expires: now.Add(n.TTL), MaxUses: n.MaxUses, Servers: servers,
	}
	h := hashToken(inv.Token)
	inv.ID = h[:12]
	if _, err := s.db.ExecContext(ctx, s.bind(`INSERT INTO invites(hash, label, created, expires, max_uses, servers) VALUES (?, ?, ?, ?, ?, ?)`),
		h, inv.Label, ms(inv.Created), ms(inv.Expires), inv.MaxUses, strings.Join(inv.Servers, " ")); err != nil {
		return Invite{}, fmt.Errorf("history: create invite: %w", err)
	}
	return inv, nil
}

// LookupInvite finds the invite of token and says whether it can still be
// used: the error wraps ErrInviteUnknown, ErrInviteExpired or
// ErrInviteUsedUp otherwise (with the invite filled in for the last two).
func (s *Store) LookupInvite(ctx context.Context, token string) (Invite, error) {
	return s.lookupInvite(ctx, s.db, token, s.now())
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) lookupInvite(ctx context.Context, q queryer, token string, now time.Time) (Invite, error) {
	if !validToken(token) {
		return Invite{}, ErrInviteUnknown
	}
	h := hashToken(token)
	inv := Invite{Token: token, ID: h[:12]}
	var created, expires int64
	var servers string
	err := q.QueryRowContext(ctx, s.bind(`SELECT label, created, expires, max_uses, uses, servers FROM invites WHERE hash = ?`), h).
		Scan(&inv.Label, &created, &expires, &inv.MaxUses, &inv.Uses, &servers)
	if errors.Is(err, sql.ErrNoRows) {
		return Invite{}, ErrInviteUnknown
	}
	if err != nil {
		return Invite{}, fmt.Errorf("history: invite: %w", err)
	}
	inv.Created, inv.Expires, inv.Servers = fromMS(created), fromMS(expires), strings.Fields(servers)
	switch {
	case !now.Before(inv.Expires):
		return inv, fmt.Errorf("%w (at %s)", ErrInviteExpired, inv.Expires.Format(time.RFC3339))
	case inv.Uses >= inv.MaxUses:
		return inv, fmt.Errorf("%w (%d of %d)", ErrInviteUsedUp, inv.Uses, inv.MaxUses)
	}
	return inv, nil
}

// Invites lists the invites, newest first (without tokens).
func (s *Store) Invites(ctx context.Context) ([]Invite, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT hash, label, created, expires, max_uses, uses, servers FROM invites ORDER BY created DESC LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("history: invites: %w", err)
	}
	defer rows.Close()
	var out []Invite
	for rows.Next() {
		var inv Invite
		var h, servers string
		var created, expires int64
		if err := rows.Scan(&h, &inv.Label, &created, &expires, &inv.MaxUses, &inv.Uses, &servers); err != nil {
			return nil, fmt.Errorf("history: invites: %w", err)
		}
		inv.ID, inv.Created, inv.Expires, inv.Servers = h[:12], fromMS(created), fromMS(expires), strings.Fields(servers)
		out = append(out, inv)
	}
	return out, rows.Err()
}
