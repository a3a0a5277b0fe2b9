package pathprobe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestHTTPSignalBusy: a 503 or 429 from the test peer's server is its
// state (ErrServerBusy), a 400 is not.
func TestHTTPSignalBusy(t *testing.T) {
	tests := []struct {
		code int
		busy bool
	}{
		{http.StatusServiceUnavailable, true},
		{http.StatusTooManyRequests, true},
		{http.StatusBadRequest, false},
		{http.StatusRequestEntityTooLarge, false},
		{http.StatusInternalServerError, false},
	}
	for _, tt := range tests {
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "10")
			http.Error(w, "no", tt.code)
		}))
		_, err := HTTPSignal(web.Client(), web.URL)(context.Background(), webrtc.SessionDescription{Type: webrtc.SDPTypeOffer})
		web.Close()
		if err == nil || errors.Is(err, ErrServerBusy) != tt.busy {
			t.Errorf("status %d: %v; want busy %v", tt.code, err, tt.busy)
		}
	}
}
