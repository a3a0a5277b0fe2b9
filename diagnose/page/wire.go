package page

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/history"
)

// Invites is what the page needs of the history.
type Invites interface {
	LookupInvite(ctx context.Context, token string) (history.Invite, error)
}

// Wire mounts the page on serve's mux next to what cfg.Mount mounts
// already (the history's API and console), with its invites from store,
// and binds the test peer's slots to those invites (cfg.Invites).
func Wire(cfg *diagnose.ServerConfig, store Invites) {
	prev := cfg.Mount
	cfg.Mount = func(mux *http.ServeMux) {
		if prev != nil {
			prev(mux)
		}
		mux.Handle(Path, ServersHandler(ServersLookup(store)))
	}
	cfg.Invites = OfferLookup(store)
}

// PageLookup opens the page for an invite that can still be used.
func PageLookup(store Invites) func(ctx context.Context, token string) error {
	servers := ServersLookup(store)
	return func(ctx context.Context, token string) error {
		_, err := servers(ctx, token)
		return err
	}
}

// ServersLookup opens the page for an invite that can still be used, with
// the servers it names.
func ServersLookup(store Invites) func(ctx context.Context, token string) ([]string, error) {
	return func(ctx context.Context, token string) ([]string, error) {
		inv, err := store.LookupInvite(ctx, token)
		switch {
		case err == nil:
			return inv.Servers, nil
		case errors.Is(err, history.ErrInviteUnknown):
			return nil, fmt.Errorf("%w: %w", ErrUnknownInvite, err)
		case errors.Is(err, history.ErrInviteExpired), errors.Is(err, history.ErrInviteUsedUp):
			return nil, fmt.Errorf("%w: %w", ErrExpiredInvite, err)
		}
		return nil, err
	}
}

// OfferLookup admits the test page's calls: an invite that is known and
// not expired. A used-up invite still counts: the page's own first result
// may have taken its last use, and its calls come after it.
func OfferLookup(store Invites) func(ctx context.Context, token string) error {
	return func(ctx context.Context, token string) error {
		_, err := store.LookupInvite(ctx, token)
		if errors.Is(err, history.ErrInviteUsedUp) {
			return nil
		}
		return err
	}
}
