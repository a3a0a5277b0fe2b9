package page_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/diagnose/page"
)

func TestHandler(t *testing.T) {
	lookup := func(_ context.Context, token string) error {
		switch token {
		case "good":
			return nil
		case "old":
			return fmt.Errorf("invite old: %w", page.ErrExpiredInvite)
		case "broken":
			return errors.New("database is locked")
		}
		return fmt.Errorf("invite %s: %w", token, page.ErrUnknownInvite)
	}
	h := page.Handler(lookup)
	tests := []struct {
		method, path string
		code         int
		contains     string
	}{
		{"GET", "/t/good", 200, `<script src="/t/assets/page.js"`},
		{"GET", "/t/nope", 404, "This test link is not valid"},
		{"GET", "/t/old", 410, "This test link has expired"},
		{"GET", "/t/broken", 503, "cannot open this link right now"},
		{"GET", "/t/", 404, "not valid"},
		{"GET", "/t/good/extra", 404, "not valid"},
		{"GET", "/t/assets/page.js", 200, "rtclab.diagnose/v1"},
		{"GET", "/t/assets/page.css", 200, "progress"},
		{"GET", "/t/assets/house.css", 200, "--pass"},
		{"GET", "/t/assets/gone.html", 404, ""},
		{"GET", "/t/assets/index.html", 404, ""},
		{"POST", "/t/good", 405, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != tt.code || !strings.Contains(string(body), tt.contains) {
			t.Errorf("%s %s: %d, want %d containing %q:\n%.300s", tt.method, tt.path, rec.Code, tt.code, tt.contains, body)
		}
		if got := rec.Header().Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s %s: Referrer-Policy %q: the invite in the URL would leak", tt.method, tt.path, got)
		}
	}
}
