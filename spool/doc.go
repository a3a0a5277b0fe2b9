// Package spool keeps the append-only logs that grow with a call (the
// per-packet send and arrival logs, the receivers' frame logs) in
// fixed-size chunks of bytes, and writes full chunks to a temporary file
// once a log is long, so that a call's live heap stays flat however long
// it runs: an hour of the quickstart call kept 138 MB of such logs in
// memory (issue #17).
//
// The file is created in os.TempDir() and removed at once (Linux keeps
// an open file's data until it is closed), so a crash leaves nothing
// behind, and it is closed when the log is garbage (os.File's cleanup).
// A log that cannot spill (no temporary directory, a write error) keeps
// its chunks in memory: nothing is lost.
package spool
