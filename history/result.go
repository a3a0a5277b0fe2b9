package history

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rtclab/rtclab/diagnose"
)

// MaxResultBytes bounds a posted result (a full diagnosis with its
// samples is about 60 KiB).
const MaxResultBytes = 1 << 20

// Record is one stored result: the indexed columns and the JSON.
type Record struct {
	// ID is the result's unguessable id: 128 random bits in hex (never
	// starting with '-', so it is safe as a command-line argument).
	ID string `json:"id"`
	// Invite is the ID of the invite that posted it; empty for an admin
	// upload (rtclab diagnose --upload).
	Invite string `json:"invite,omitempty"`
	// Created is when it was first posted; Updated when last replaced.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Label is the invite's label, or the uploader's --label.
	Label string `json:"label"`
	// Verdict is the verdict's level (good, warn, bad; empty while
	// partial with no verdict yet).
	Verdict string `json:"verdict"`
	// NAT is the NAT type found (probes/nat Type); empty when not tested.
	NAT string `json:"nat"`
	// BestPath is the best ICE path that connected.
	BestPath string `json:"best_path"`
	// RelayOnly is true when only a relay connected.
	RelayOnly bool `json:"relay_only"`
	// ClientKind is cli or browser.
	ClientKind string `json:"client_kind"`
	// Partial is true while (or if) the diagnosis did not finish.
	Partial bool `json:"partial"`
	// Observed is the address the result was posted from, as the server
	// saw it.
	Observed string `json:"observed_address"`
	// Target is the server diagnosed.
	Target string `json:"target"`
	// Run is the ID of the first result of the page run this one belongs
	// to: an invite with several servers posts one result per server, all
	// with the first one's ID (its own included), ranked together.
	Run string `json:"run,omitempty"`
	// Body is the stored rtclab.diagnose/v1 JSON.
	Body json.RawMessage `json:"result,omitempty"`
}

// Result decodes the stored JSON.
func (r Record) Result() (diagnose.Result, error) {
	var res diagnose.Result
	if err := json.Unmarshal(r.Body, &res); err != nil {
		return res, fmt.Errorf("history: result %s: %w", r.ID, err)
	}
	return res, nil
}

// Post is a result to store.
type Post struct {
	// Invite is the invite token it came with; empty for the admin.
	Invite string
	// Label is used when there is no invite (the admin's upload).
	Label string
	// Body is the rtclab.diagnose/v1 JSON.
	Body []byte
	// Observed is the client's address as the server saw it.
	Observed string
	// Run, when set, is the ID of the first result of the same page run
	// (the same invite, within ReplaceWindow, at most one result per
	// server of the invite): the result joins it and takes no use.
	Run string
}

// ParseResult checks that body is one rtclab.diagnose/v1 result and
// returns it with the JSON to store: as posted (fields this build does not
// know are kept), compacted, with client.observed_address set to
// observed. Nothing is stored from a body it refuses.
func ParseResult(body []byte, observed string) (diagnose.Result, []byte, error) {
	var res diagnose.Result
	if len(body) > MaxResultBytes {
		return res, nil, fmt.Errorf("%w: result of %d bytes: at most %d", ErrInvalid, len(body), MaxResultBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return res, nil, fmt.Errorf("%w: result: not a JSON object: %v", ErrInvalid, errOr(err, "null"))
	}
	if dec.More() {
		return res, nil, fmt.Errorf("%w: result: more than one JSON value", ErrInvalid)
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return res, nil, fmt.Errorf("%w: result: %v", ErrInvalid, err)
	}
	if res.Schema != diagnose.Schema {
		return res, nil, fmt.Errorf("%w: result: schema %q: want %q", ErrInvalid, res.Schema, diagnose.Schema)
	}
	switch res.Verdict.Level {
	case diagnose.Good, diagnose.Warn, diagnose.Bad:
	case diagnose.Info:
		// "Incomplete": the server was busy, or nothing could be graded —
		// a finding about the server, not a verdict on the network, and
		// exactly what support needs to see (issue #13).
	case "":
		if !res.Partial {
			return res, nil, fmt.Errorf("%w: result: verdict.level is empty in a complete (partial: false) result", ErrInvalid)
		}
	default:
		return res, nil, fmt.Errorf("%w: result: verdict.level %q: want good, warn, bad or info", ErrInvalid, res.Verdict.Level)
	}
	if res.Client == nil {
		res.Client = &diagnose.Client{}
	}
	switch res.Client.Kind {
	case "", "cli", "browser":
	default:
		return res, nil, fmt.Errorf("%w: result: client.kind %q: want cli or browser", ErrInvalid, res.Client.Kind)
	}
	res.Client.ObservedAddress = observed
	client, err := json.Marshal(res.Client)
	if err != nil {
		return res, nil, fmt.Errorf("history: %w", err)
	}
	fields["client"] = client
	stored, err := json.Marshal(fields)
	if err != nil {
		return res, nil, fmt.Errorf("history: %w", err)
	}
	return res, stored, nil
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// columns are the indexed columns of res.
func columns(res diagnose.Result) (verdict, nat, best string, relayOnly bool, kind string) {
	if res.NAT != nil {
		nat = string(res.NAT.Type)
	}
	if res.Client != nil {
		kind = res.Client.Kind
	}
	return string(res.Verdict.Level), nat, string(res.BestPath), res.BestPath.IsRelay(), kind
}

// Add stores a new result. With an invite it counts one use of it and
// fails with ErrInviteUnknown, ErrInviteExpired or ErrInviteUsedUp when
// the invite cannot be used; the result takes the invite's label.
func (s *Store) Add(ctx context.Context, p Post) (Record, error) {
	res, body, err := ParseResult(p.Body, p.Observed)
	if err != nil {
		return Record{}, err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return Record{}, fmt.Errorf("history: id: %w", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	rec := Record{ID: hex.EncodeToString(id), Created: now, Updated: now,
		Label: p.Label, Partial: res.Partial, Observed: p.Observed, Target: res.Target, Body: body}
	rec.Run = rec.ID
	rec.Verdict, rec.NAT, rec.BestPath, rec.RelayOnly, rec.ClientKind = columns(res)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Record{}, fmt.Errorf("history: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var invite sql.NullString
	if p.Run != "" {
		if p.Invite == "" {
			return Record{}, fmt.Errorf("%w: run: only an invite's page posts runs", ErrInvalid)
		}
		inv, err := s.joinRun(ctx, tx, p, now)
		if err != nil {
			return Record{}, err
		}
		invite = sql.NullString{String: hashToken(p.Invite), Valid: true}
		rec.Invite, rec.Label, rec.Run = inv.ID, inv.Label, p.Run
	} else if p.Invite != "" {
		inv, err := s.lookupInvite(ctx, tx, p.Invite, now)
		if err != nil {
			return Record{}, err
		}
		h := hashToken(p.Invite)
		// The WHERE re-checks the count so that two posts racing for the
		// last use cannot both take it.
		r, err := tx.ExecContext(ctx, s.bind(`UPDATE invites SET uses = uses + 1 WHERE hash = ? AND uses < max_uses`), h)
		if err != nil {
			return Record{}, fmt.Errorf("history: use invite: %w", err)
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return Record{}, ErrInviteUsedUp
		}
		invite = sql.NullString{String: h, Valid: true}
		rec.Invite, rec.Label = inv.ID, inv.Label
	}
	if err := CheckLabel(rec.Label); err != nil {
		return Record{}, err
	}
	if _, err := tx.ExecContext(ctx, s.bind(`INSERT INTO results(id, invite, created, updated, label, verdict, nat, best_path, relay_only, client_kind, partial, observed, target, run, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		rec.ID, invite, ms(now), ms(now), rec.Label, rec.Verdict, rec.NAT, rec.BestPath, b2i(rec.RelayOnly), rec.ClientKind,
		b2i(rec.Partial), rec.Observed, rec.Target, rec.Run, string(body)); err != nil {
		return Record{}, fmt.Errorf("history: store result: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Record{}, fmt.Errorf("history: store result: %w", err)
	}
	return rec, nil
}

// joinRun checks that p may join the run p.Run: the run's first result
// was posted with the same invite, within ReplaceWindow, the invite has
// not expired (it may be used up: the run's first result took the use),
// and the run has fewer results than the invite has servers.
func (s *Store) joinRun(ctx context.Context, tx *sql.Tx, p Post, now time.Time) (Invite, error) {
	inv, err := s.lookupInvite(ctx, tx, p.Invite, now)
	if err != nil && !errors.Is(err, ErrInviteUsedUp) {
		return Invite{}, err
	}
	var owner sql.NullString
	var created int64
	err = tx.QueryRowContext(ctx, s.bind(`SELECT invite, created FROM results WHERE id = ? AND run = id`), p.Run).Scan(&owner, &created)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (!owner.Valid || owner.String != hashToken(p.Invite))) {
		return Invite{}, fmt.Errorf("%w: run %s", ErrNotFound, p.Run)
	}
	if err != nil {
		return Invite{}, fmt.Errorf("history: run: %w", err)
	}
	if now.Sub(fromMS(created)) > ReplaceWindow {
		return Invite{}, fmt.Errorf("%w: run %s is older than %s", ErrFinal, p.Run, ReplaceWindow)
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.bind(`SELECT COUNT(*) FROM results WHERE run = ?`), p.Run).Scan(&n); err != nil {
		return Invite{}, fmt.Errorf("history: run: %w", err)
	}
	if n >= max(1, len(inv.Servers)) {
		return Invite{}, fmt.Errorf("%w: run %s has a result for each of the invite's %d servers", ErrInviteUsedUp, p.Run, max(1, len(inv.Servers)))
	}
	return inv, nil
}

// Run returns the results of the page run id (see Record.Run), oldest
// first: one per server, in the order the page measured them.
func (s *Store) Run(ctx context.Context, id string) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, s.bind(selectRecord+` WHERE r.run = ? ORDER BY CASE WHEN r.id = r.run THEN 0 ELSE 1 END, r.created, r.id`), id)
	if err != nil {
		return nil, fmt.Errorf("history: run: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("history: run: %w", err)
		}
		out = append(out, rec)
	}
	if len(out) == 0 && rows.Err() == nil {
		return nil, ErrNotFound
	}
	return out, rows.Err()
}

// ReplaceWindow is how long after its creation an invite's result may
// still be replaced (the page posts as it goes, for about 30 s).
const ReplaceWindow = time.Hour

// Replace replaces the result id with p.Body: p.Invite must be the token
// that created it (admin: empty token, admin true). It fails with
// ErrNotFound for any other invite, and ErrFinal once a complete result
// was stored or the window has passed. final reports whether this call
// completed the result (partial to complete).
func (s *Store) Replace(ctx context.Context, id string, p Post, admin bool) (rec Record, final bool, err error) {
	res, body, err := ParseResult(p.Body, p.Observed)
	if err != nil {
		return Record{}, false, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Record{}, false, fmt.Errorf("history: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	old, err := s.get(ctx, tx, id)
	if err != nil {
		return Record{}, false, err
	}
	var owner sql.NullString
	if err := tx.QueryRowContext(ctx, s.bind(`SELECT invite FROM results WHERE id = ?`), id).Scan(&owner); err != nil {
		return Record{}, false, fmt.Errorf("history: %w", err)
	}
	if !admin && (p.Invite == "" || !owner.Valid || owner.String != hashToken(p.Invite)) {
		return Record{}, false, ErrNotFound
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if !old.Partial {
		return Record{}, false, fmt.Errorf("%w: %s was stored complete", ErrFinal, id)
	}
	if now.Sub(old.Created) > ReplaceWindow {
		return Record{}, false, fmt.Errorf("%w: %s is older than %s", ErrFinal, id, ReplaceWindow)
	}
	rec = old
	rec.Updated, rec.Partial, rec.Observed, rec.Target, rec.Body = now, res.Partial, p.Observed, res.Target, body
	rec.Verdict, rec.NAT, rec.BestPath, rec.RelayOnly, rec.ClientKind = columns(res)
	if _, err := tx.ExecContext(ctx, s.bind(`UPDATE results SET updated = ?, verdict = ?, nat = ?, best_path = ?, relay_only = ?, client_kind = ?, partial = ?, observed = ?, target = ?, body = ? WHERE id = ?`),
		ms(now), rec.Verdict, rec.NAT, rec.BestPath, b2i(rec.RelayOnly), rec.ClientKind, b2i(rec.Partial), rec.Observed, rec.Target, string(body), id); err != nil {
		return Record{}, false, fmt.Errorf("history: replace result: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Record{}, false, fmt.Errorf("history: replace result: %w", err)
	}
	return rec, !res.Partial, nil
}

const selectRecord = `SELECT r.id, COALESCE(substr(r.invite, 1, 12), ''), r.created, r.updated, r.label, r.verdict, r.nat, r.best_path, r.relay_only, r.client_kind, r.partial, r.observed, r.target, r.run, r.body FROM results r`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(row scanner) (Record, error) {
	var rec Record
	var created, updated int64
	var body string
	if err := row.Scan(&rec.ID, &rec.Invite, &created, &updated, &rec.Label, &rec.Verdict, &rec.NAT, &rec.BestPath,
		&rec.RelayOnly, &rec.ClientKind, &rec.Partial, &rec.Observed, &rec.Target, &rec.Run, &body); err != nil {
		return rec, err
	}
	rec.Created, rec.Updated, rec.Body = fromMS(created), fromMS(updated), json.RawMessage(body)
	return rec, nil
}

// b2i is the stored form of a flag: SQLite and PostgreSQL both take an
// integer.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Store) get(ctx context.Context, q queryer, id string) (Record, error) {
	rec, err := scanRecord(q.QueryRowContext(ctx, s.bind(selectRecord+` WHERE r.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("history: result %s: %w", id, err)
	}
	return rec, nil
}

// Get returns the result id.
func (s *Store) Get(ctx context.Context, id string) (Record, error) { return s.get(ctx, s.db, id) }

// Filter selects results; zero fields select everything.
type Filter struct {
	// Label matches labels containing it, ignoring case.
	Label string
	// Verdict is good, warn, bad or partial.
	Verdict string
	// NAT is a NAT type (full-cone ... symmetric, firewall, unknown).
	NAT string
	// RelayOnly, when set, keeps results whose only path was (or was not)
	// a relay.
	RelayOnly *bool
	// Since and Until bound the creation time (Until exclusive).
	Since, Until time.Time
	// Limit is the most results returned, newest first; 0 means 1000.
	Limit int
}

// List returns the results f selects, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Record, error) {
	var where []string
	var args []any
	if f.Label != "" {
		// lower() on both sides: SQLite's LIKE ignores ASCII case only,
		// PostgreSQL's none.
		where = append(where, `lower(r.label) LIKE lower(?) ESCAPE '\'`)
		args = append(args, "%"+likeEscape(f.Label)+"%")
	}
	switch f.Verdict {
	case "":
	case "partial":
		where = append(where, `r.partial = 1`)
	default:
		where = append(where, `r.verdict = ?`)
		args = append(args, f.Verdict)
	}
	if f.NAT != "" {
		where = append(where, `r.nat = ?`)
		args = append(args, f.NAT)
	}
	if f.RelayOnly != nil {
		where = append(where, `r.relay_only = ?`)
		args = append(args, b2i(*f.RelayOnly))
	}
	if !f.Since.IsZero() {
		where = append(where, `r.created >= ?`)
		args = append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `r.created < ?`)
		args = append(args, ms(f.Until))
	}
	q := selectRecord
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += ` ORDER BY r.created DESC, r.id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.bind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("history: list: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("history: list: %w", err)
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
