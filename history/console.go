package history

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/reports"
)

// sessionCookie holds the console's session: an HMAC of the admin token,
// so that the token itself never sits in a cookie.
const sessionCookie = "rtclab_console"

//go:embed console.html.tmpl
var consoleHTML string

var consoleTmpl = template.Must(template.New("console").Parse(consoleHTML))

var loginTmpl = template.Must(template.New("login").Parse(`{{if .}}<p class="error" style="padding:10px 14px;border-left:6px solid var(--fail);background:var(--failed-row)">{{.}}</p>{{end}}
<form method="post" action="/console/login" style="margin-top:16px">
<label style="display:block;margin-bottom:8px">Admin token (printed by <code>rtclab serve</code> when it starts, or its <code>--admin-token</code>)</label>
<input type="password" name="token" autocomplete="current-password" size="48" autofocus required>
<button type="submit">Log in</button>
</form>`))

// consoleRow is one result in the table.
type consoleRow struct {
	Record
	RTT, Loss, Up, Down string
	// RunSize is how many results the row's page run has (several: one
	// per server, ranked at /console/runs/RUN).
	RunSize int
}

type consoleData struct {
	Q               url.Values
	Records         []Record
	Rows            []consoleRow
	Invites         []Invite
	States          map[string]string
	Verdicts        []string
	NATTypes        []string
	JSONURL, CSVURL template.URL
	Error           string
	NewInvite       *Invite
	NewURL          string
	Retention, Path string
}

func (a *API) console(w http.ResponseWriter, r *http.Request) {
	if !a.isAdmin(r) {
		a.loginPage(w, http.StatusUnauthorized, "")
		return
	}
	a.renderConsole(w, r, http.StatusOK, nil, "")
}

func (a *API) loginPage(w http.ResponseWriter, status int, msg string) {
	var body bytes.Buffer
	if err := loginTmpl.Execute(&body, msg); err != nil {
		a.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = reports.WritePage(w, reports.Page{
		Title: "rtclab console · log in", Word: "LOG IN", Class: "unknown", Heading: "rtclab support console",
		Summary: "The history of network checks. It needs the admin token.",
		Body:    template.HTML(body.String()), //nolint:gosec // executed by html/template above
		Footer:  "rtclab serve",
	})
}

func (a *API) renderConsole(w http.ResponseWriter, r *http.Request, status int, newInv *Invite, errMsg string) {
	q := r.URL.Query()
	var err error
	f, ferr := ParseFilter(q)
	if f.Limit == 0 {
		f.Limit = 200
	}
	var recs []Record
	if ferr != nil {
		// A search that cannot be read shows nothing rather than
		// everything.
		errMsg, status = strings.TrimPrefix(ferr.Error(), "history: invalid: "), http.StatusBadRequest
	} else if recs, err = a.cfg.Store.List(r.Context(), f); err != nil {
		a.internal(w, err)
		return
	}
	invites, err := a.cfg.Store.Invites(r.Context())
	if err != nil {
		a.internal(w, err)
		return
	}
	now := a.cfg.Store.now()
	states := map[string]string{}
	for _, inv := range invites {
		switch {
		case !now.Before(inv.Expires):
			states[inv.ID] = "expired"
		case inv.Uses >= inv.MaxUses:
			states[inv.ID] = "used up"
		default:
			states[inv.ID] = "open"
		}
	}
	exp := url.Values{}
	for k, v := range q {
		if k != "format" && len(v) > 0 && v[0] != "" {
			exp.Set(k, v[0])
		}
	}
	d := consoleData{Q: q, Records: recs, Invites: invites, States: states, Verdicts: Verdicts, NATTypes: NATTypes,
		Error: errMsg, NewInvite: newInv, Path: a.cfg.Store.Path(), Retention: retentionWords(a.cfg.Store.Retention())}
	exp.Set("format", "json")
	d.JSONURL = template.URL("/api/v1/results?" + exp.Encode()) //nolint:gosec // built by url.Values
	exp.Set("format", "csv")
	d.CSVURL = template.URL("/api/v1/results?" + exp.Encode()) //nolint:gosec // built by url.Values
	if newInv != nil {
		d.NewURL = inviteURL(r, newInv.Token)
	}
	runs := map[string]int{}
	for _, rec := range recs {
		runs[rec.Run]++
	}
	for _, rec := range recs {
		res, _ := rec.Result()
		d.Rows = append(d.Rows, consoleRow{Record: rec, RTT: metricCell(res, "rtt"), Loss: metricCell(res, "loss"),
			Up: roundCell(metricCell(res, "upload")), Down: roundCell(metricCell(res, "download")), RunSize: runs[rec.Run]})
	}
	var body bytes.Buffer
	if err := consoleTmpl.Execute(&body, d); err != nil {
		a.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = reports.WritePage(w, reports.Page{
		Title: "rtclab console", Word: strconv.Itoa(len(recs)), Class: "unknown", Heading: "rtclab support console",
		Summary: "Network checks run by customers (invite links) and by rtclab diagnose --upload.",
		Body:    template.HTML(body.String()), //nolint:gosec // executed by html/template above
		Footer:  "rtclab serve · history " + a.cfg.Store.Path(),
	})
}

func roundCell(s string) string {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func retentionWords(d time.Duration) string {
	switch {
	case d <= 0:
		return "forever (no --retention)"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("for %d days", d/(24*time.Hour))
	default:
		return "for " + d.String()
	}
}

func (a *API) consoleResult(w http.ResponseWriter, r *http.Request) {
	rec, err := a.cfg.Store.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		http.Error(w, "no such result", http.StatusNotFound)
		return
	}
	if err != nil {
		a.internal(w, err)
		return
	}
	res, err := rec.Result()
	if err != nil {
		a.internal(w, err)
		return
	}
	if res.Verdict.Level == "" {
		res.Verdict = diagnose.Verdict{Level: diagnose.Info, Summary: "The check did not finish: this is what it had measured."}
	}
	var page bytes.Buffer
	if err := diagnose.WriteHTML(&page, res); err != nil {
		a.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(page.Bytes())
}

// RunComparison ranks the results of one page run (Store.Run) by
// diagnose's rule, each named by the server it measured.
func RunComparison(recs []Record) (diagnose.Comparison, error) {
	servers := make([]string, 0, len(recs))
	results := make([]diagnose.Result, 0, len(recs))
	for _, rec := range recs {
		res, err := rec.Result()
		if err != nil {
			return diagnose.Comparison{}, err
		}
		if res.Verdict.Level == "" {
			res.Verdict = diagnose.Verdict{Level: diagnose.Info, Summary: "The check did not finish."}
		}
		name := rec.Target
		if name == "" {
			name = rec.ID
		}
		servers, results = append(servers, name), append(results, res)
	}
	return diagnose.Rank(servers, results), nil
}

// consoleRun shows a page run's servers ranked, as rtclab diagnose
// --server A --server B --html does, each server linking to its result.
func (a *API) consoleRun(w http.ResponseWriter, r *http.Request) {
	recs, err := a.cfg.Store.Run(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		http.Error(w, "no such run", http.StatusNotFound)
		return
	}
	if err != nil {
		a.internal(w, err)
		return
	}
	c, err := RunComparison(recs)
	if err != nil {
		a.internal(w, err)
		return
	}
	var page bytes.Buffer
	if err := diagnose.WriteComparisonHTML(&page, c); err != nil {
		a.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(page.Bytes())
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil || !equal(r.PostForm.Get("token"), a.cfg.AdminToken) {
		a.log.Info("history: console login refused", "from", r.RemoteAddr)
		a.loginPage(w, http.StatusUnauthorized, "That is not the admin token.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: a.cookie, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil || r.URL.Scheme == "https", SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600}) // https behind a trusted proxy too
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

func (a *API) consoleInvite(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		a.renderConsole(w, r, http.StatusBadRequest, nil, "invite form: "+err.Error())
		return
	}
	uses, err := strconv.Atoi(r.PostForm.Get("max_uses"))
	if err != nil {
		a.renderConsole(w, r, http.StatusBadRequest, nil, "invite: uses: want a whole number")
		return
	}
	inv, err := a.newInvite(r, inviteCreateRequest{Label: r.PostForm.Get("label"), ExpiresIn: r.PostForm.Get("expires_in"), MaxUses: uses,
		Servers: strings.Fields(r.PostForm.Get("servers"))})
	if err != nil {
		a.renderConsole(w, r, http.StatusBadRequest, nil, "invite: "+strings.TrimPrefix(err.Error(), "history: invalid: "))
		return
	}
	a.renderConsole(w, r, http.StatusCreated, &inv, "")
}
