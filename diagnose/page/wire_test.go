package page_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rtclab/rtclab/diagnose/page"
	"github.com/rtclab/rtclab/history"
)

// fakeInvites answers LookupInvite with one error per token.
type fakeInvites map[string]error

func (f fakeInvites) LookupInvite(_ context.Context, token string) (history.Invite, error) {
	if err, ok := f[token]; ok {
		return history.Invite{}, err
	}
	return history.Invite{}, history.ErrInviteUnknown
}

// TestLookups: the page opens only for a usable invite; the test peer
// also admits the calls of a used-up one (its own first result may have
// taken the last use), but not of an expired or unknown one.
func TestLookups(t *testing.T) {
	store := fakeInvites{
		"ok":      nil,
		"used":    fmt.Errorf("%w (1 of 1)", history.ErrInviteUsedUp),
		"expired": fmt.Errorf("%w (at then)", history.ErrInviteExpired),
		"db":      errors.New("database is locked"),
	}
	tests := []struct {
		token     string
		page      error // nil, or the sentinel wrapped
		offerOK   bool
		pageOther bool // an error that is neither sentinel
	}{
		{"ok", nil, true, false},
		{"used", page.ErrExpiredInvite, true, false},
		{"expired", page.ErrExpiredInvite, false, false},
		{"nope", page.ErrUnknownInvite, false, false},
		{"db", nil, false, true},
	}
	pageLookup, offerLookup := page.PageLookup(store), page.OfferLookup(store)
	for _, tt := range tests {
		err := pageLookup(context.Background(), tt.token)
		switch {
		case tt.pageOther:
			if err == nil || errors.Is(err, page.ErrUnknownInvite) || errors.Is(err, page.ErrExpiredInvite) {
				t.Errorf("page %s: %v, want the store's own error", tt.token, err)
			}
		case tt.page == nil && err != nil, tt.page != nil && !errors.Is(err, tt.page):
			t.Errorf("page %s: %v, want %v", tt.token, err, tt.page)
		}
		if err := offerLookup(context.Background(), tt.token); (err == nil) != tt.offerOK {
			t.Errorf("offer %s: %v, want admitted %v", tt.token, err, tt.offerOK)
		}
	}
}
