// Package loopns runs a test's real peers on loopback only: in a network
// namespace of the test's own with nothing but its loopback interface
// (kernel.Loopback), so a Chromium there can neither gather nor reach the
// machine's own addresses (the house rule: a test touches no address but
// loopback and the namespaces it made). New makes the namespace, Serve an
// HTTP server inside it, Chromium a headless browser inside it, and
// CheckLoopback asserts that every candidate a peer reported is loopback.
// Everything is stopped by PID and the namespace deleted in the test's
// cleanup. It is a package of its own, not part of realpeer, because
// netem/kernel's own tests use realpeer.
package loopns
