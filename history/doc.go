// Package history is the support team's memory: a database of invites
// and diagnosis results — an embedded SQLite file (modernc.org/sqlite,
// pure Go, no server to run) or a shared PostgreSQL database (pgx) — its
// HTTP API (/api/v1/*), and the console (/console) that searches it.
//
// An invite is a link a support engineer hands a customer: an unguessable
// token (192 random bits, base64url), a label, an expiry and a number of
// uses. The database keeps only the SHA-256 of each token, so a copy of
// the file does not hand out working links. A result is the
// rtclab.diagnose/v1 JSON as it was posted (diagnose.Result, unknown fields
// kept) with indexed columns for searching; results older than the
// retention are deleted.
//
// The schema is versioned: each migration runs once, in a transaction, and
// is recorded in schema_migrations.
package history
