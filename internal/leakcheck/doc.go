// Package leakcheck is the one goroutine-leak check of rtclab's tests.
// A test that starts servers or PeerConnections outside a virtual-time
// bubble calls Check first; when the test ends, every goroutine started
// since must have returned. There is no slack: the check waits (up to
// Wait) for goroutines that are still shutting down, then names the ones
// left with their stacks (go.uber.org/goleak).
//
// Inside a testing/synctest bubble no check is needed: synctest.Test
// itself fails when a bubbled goroutine outlives the bubble.
package leakcheck
