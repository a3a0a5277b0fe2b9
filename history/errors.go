package history

import "errors"

// Sentinel errors. Callers test them with errors.Is.
var (
	// ErrInviteUnknown: no invite has this token.
	ErrInviteUnknown = errors.New("history: unknown invite")
	// ErrInviteExpired: the invite's expiry has passed.
	ErrInviteExpired = errors.New("history: invite expired")
	// ErrInviteUsedUp: the invite has been used max_uses times.
	ErrInviteUsedUp = errors.New("history: invite used up")
	// ErrNotFound: no result has this id (or it belongs to another invite).
	ErrNotFound = errors.New("history: result not found")
	// ErrFinal: the result is complete and can no longer be replaced.
	ErrFinal = errors.New("history: result is final")
	// ErrInvalid wraps every refusal of a posted result or invite request.
	ErrInvalid = errors.New("history: invalid")
)
