// Package ratelimit is rtclab's per-address token bucket: `rtclab serve`
// limits how fast one client IP address may allocate TURN relays and ask
// for test-peer calls, so that one client cannot take what all share.
package ratelimit
