package testpeer

import (
	"errors"
	"net"
	"net/http"
)

// Caller is who asks for a test call: the slot it may take depends on it.
type Caller struct {
	// Key groups the calls one caller holds: "ip:ADDR", or
	// "invite:TOKEN@ADDR" for an invited one.
	Key string
	// Invited is true for a caller whose invite the server checked: it may
	// use the slots kept for invited calls.
	Invited bool
}

// Slot defaults: a third of the calls are kept for invited callers (the
// browser test page), and one uninvited address, or one invite, holds a
// few calls at once (a diagnosis needs one per path kind, 5 at most).
const (
	DefaultReservedFraction = 3
	DefaultPerCaller        = 6
)

// ErrInvite is wrapped by an Admit error when the request's invite is
// unknown, expired or used up (HTTP 403: the caller's invite, not the
// server's state).
var ErrInvite = errors.New("testpeer: invite not valid")

// InviteHeader carries the invite token of the browser test page's
// requests (and of the CLI's, when it has one).
const InviteHeader = "X-Rtclab-Invite"

// slotsFree says whether c may open one more call, given the calls open
// per caller key and how many of them are invited; the caller holds p.mu.
//
// Uninvited calls may fill MaxPeers-Reserved slots, invited ones all of
// them, and no caller more than PerCaller: 32 bare offers from one address
// locked the browser page out for 25 s (issue #13).
func (p *Peer) slotsFree(c Caller) error {
	if c.Key != "" && p.held[c.Key] >= p.cfg.PerCaller {
		return ErrBusyCaller
	}
	total := len(p.pcs)
	if total >= p.cfg.MaxPeers {
		return ErrBusy
	}
	if !c.Invited && total-p.invited >= p.cfg.MaxPeers-p.cfg.Reserved {
		return ErrBusy
	}
	return nil
}

// ErrBusyCaller is Answer's error when one caller already holds
// Config.PerCaller calls: that caller's own state (HTTP 429).
var ErrBusyCaller = errors.New("testpeer: this caller holds too many test calls")

// callerOf is the default Admit: an uninvited caller keyed by its address.
func callerOf(r *http.Request) (Caller, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return Caller{Key: "ip:" + host}, nil
}

// IPKey is the caller key of an uninvited request (for an Admit that falls
// back to the address).
func IPKey(r *http.Request) Caller {
	c, _ := callerOf(r)
	return c
}

// Limits are the peer's slot limits in effect: calls at once, how many of
// them are kept for invited callers, and how many one caller may hold.
func (p *Peer) Limits() (maxPeers, reserved, perCaller int) {
	return p.cfg.MaxPeers, p.cfg.Reserved, p.cfg.PerCaller
}
