package history

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one version of the schema: its statements run once, in one
// transaction with its row in schema_migrations.
type migration struct {
	version int
	name    string
	stmts   []string
	// pg replaces stmts on PostgreSQL where the dialects differ.
	pg []string
}

// migrations is the schema's history, oldest first. Append only: a
// database records the versions it has, and a changed old migration would
// never run on it.
func migrations() []migration {
	return []migration{
		{1, "invites and results", []string{
			// hash is the SHA-256 of the token, hex: the token itself is
			// not stored.
			`CREATE TABLE invites (
				hash TEXT PRIMARY KEY,
				label TEXT NOT NULL,
				created BIGINT NOT NULL,
				expires BIGINT NOT NULL,
				max_uses INTEGER NOT NULL,
				uses INTEGER NOT NULL DEFAULT 0
			)`,
			`CREATE TABLE results (
				id TEXT PRIMARY KEY,
				invite TEXT REFERENCES invites(hash) ON DELETE SET NULL,
				created BIGINT NOT NULL,
				updated BIGINT NOT NULL,
				label TEXT NOT NULL DEFAULT '',
				verdict TEXT NOT NULL DEFAULT '',
				nat TEXT NOT NULL DEFAULT '',
				best_path TEXT NOT NULL DEFAULT '',
				relay_only INTEGER NOT NULL DEFAULT 0,
				client_kind TEXT NOT NULL DEFAULT '',
				partial INTEGER NOT NULL DEFAULT 0,
				observed TEXT NOT NULL DEFAULT '',
				body TEXT NOT NULL
			)`,
			`CREATE INDEX results_created ON results(created)`,
			`CREATE INDEX results_invite ON results(invite)`,
		}, nil},
		{2, "results.target (the server diagnosed), filled from the stored JSON; filter indexes", []string{
			`ALTER TABLE results ADD COLUMN target TEXT NOT NULL DEFAULT ''`,
			`UPDATE results SET target = COALESCE(json_extract(body, '$.target'), '')`,
			`CREATE INDEX results_label ON results(label, created)`,
			`CREATE INDEX results_verdict ON results(verdict, created)`,
		}, []string{
			`ALTER TABLE results ADD COLUMN target TEXT NOT NULL DEFAULT ''`,
			`UPDATE results SET target = COALESCE(body::jsonb->>'target', '')`,
			`CREATE INDEX results_label ON results(label, created)`,
			`CREATE INDEX results_verdict ON results(verdict, created)`,
		}},
		{3, "invites.servers (the servers an invite's page ranks) and results.run (one page run's results, one per server)", []string{
			`ALTER TABLE invites ADD COLUMN servers TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE results ADD COLUMN run TEXT NOT NULL DEFAULT ''`,
			`CREATE INDEX results_run ON results(run)`,
		}, nil},
		{4, "webhook_queue: the webhook's undelivered events with their retry state, kept across restarts", []string{
			// id is the result's: one result.complete event per result.
			`CREATE TABLE webhook_queue (
				id TEXT PRIMARY KEY,
				body TEXT NOT NULL,
				created BIGINT NOT NULL,
				attempts INTEGER NOT NULL DEFAULT 0,
				next_at BIGINT NOT NULL
			)`,
			`CREATE INDEX webhook_queue_next ON webhook_queue(next_at)`,
		}, nil},
	}
}

// migrate brings db up to version, each missing migration in its own
// transaction. A database newer than this build is refused rather than
// misread.
func migrate(ctx context.Context, s *Store, version int) error {
	db := s.db
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	have, err := appliedVersion(ctx, db)
	if err != nil {
		return err
	}
	all := migrations()
	if have > len(all) {
		return fmt.Errorf("database schema version %d is newer than this rtclab knows (%d): use a newer rtclab", have, len(all))
	}
	for _, m := range all[have:min(version, len(all))] {
		if err := apply(ctx, s, m); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

func appliedVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return int(v.Int64), nil
}

func apply(ctx context.Context, s *Store, m migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	stmts := m.stmts
	if s.pg && m.pg != nil {
		stmts = m.pg
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, s.bind(`INSERT INTO schema_migrations(version, name, applied) VALUES (?, ?, ?)`), m.version, m.name, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}
