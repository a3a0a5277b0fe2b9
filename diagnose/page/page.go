package page

import (
	"context"
	"embed"
	"errors"
	"html"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/rtclab/rtclab/reports"
)

// Path is where the page is mounted: Path + invite token.
const Path = "/t/"

// Errors a lookup wraps to say why an invite does not open the page.
var (
	// ErrUnknownInvite: no such invite (404).
	ErrUnknownInvite = errors.New("page: unknown invite")
	// ErrExpiredInvite: the invite expired or was used up (410 Gone).
	ErrExpiredInvite = errors.New("page: invite expired or used up")
)

//go:embed assets
var assets embed.FS

var gone = template.Must(template.ParseFS(assets, "assets/gone.html"))

// Handler serves the page at Path{token} when lookup(token) is nil, and
// its assets at Path + "assets/". An unknown invite gets a 404 page, an
// expired or used-up one a 410 page that says so; any other lookup error
// is 503 (the history could not be read: the server's fault).
func Handler(lookup func(ctx context.Context, token string) error) http.Handler {
	return ServersHandler(func(ctx context.Context, token string) ([]string, error) { return nil, lookup(ctx, token) })
}

// ServersHandler is Handler for invites that name the servers the page
// measures and ranks (lookup returns their base URLs; none: only this
// server). The page reads them from its body's data-servers, and may
// connect to them and to nothing else (Content-Security-Policy).
func ServersHandler(lookup func(ctx context.Context, token string) ([]string, error)) http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix(Path+"assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The invite is in the URL: never send it on as a referrer.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "GET the page", http.StatusMethodNotAllowed)
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, Path)
		if rest == "assets/house.css" {
			h.Set("Content-Type", "text/css; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			_, _ = io.WriteString(w, string(reports.HouseCSS()))
			return
		}
		if strings.HasPrefix(rest, "assets/") {
			if rest == "assets/gone.html" || rest == "assets/index.html" {
				http.NotFound(w, r)
				return
			}
			h.Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
			return
		}
		h.Set("Cache-Control", "no-store")
		if rest == "" || strings.Contains(rest, "/") {
			page(w, http.StatusNotFound, "unknown", "This test link is not valid",
				"The link is incomplete or mistyped: check that you copied all of it.")
			return
		}
		servers, err := lookup(r.Context(), rest)
		switch {
		case err == nil:
			h.Set("Content-Type", "text/html; charset=utf-8")
			if len(servers) > 0 {
				h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' "+strings.Join(servers, " ")+"; img-src 'self' data:; frame-ancestors 'none'")
			}
			data, _ := assets.ReadFile("assets/index.html")
			_, _ = io.WriteString(w, strings.Replace(string(data), `data-state="loading"`,
				`data-state="loading" data-servers="`+html.EscapeString(strings.Join(servers, " "))+`"`, 1))
		case errors.Is(err, ErrUnknownInvite):
			page(w, http.StatusNotFound, "unknown", "This test link is not valid",
				"No test belongs to this link: check that you copied all of it.")
		case errors.Is(err, ErrExpiredInvite):
			page(w, http.StatusGone, "expired", "This test link has expired",
				"The link was valid for a limited time or a limited number of tests, and that is over.")
		default:
			page(w, http.StatusServiceUnavailable, "unavailable", "The test server cannot open this link right now",
				"Its records could not be read. Please try again in a few minutes.")
		}
	})
}

func page(w http.ResponseWriter, code int, state, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = gone.Execute(w, struct{ State, Title, Text string }{state, title, text})
}
