package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/history"
	"github.com/rtclab/rtclab/reports"
)

// uploadFlags are diagnose's flags for posting results into a server's
// history.
type uploadFlags struct {
	on                        bool
	invite, adminToken, label string
}

func (u *uploadFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&u.on, "upload", false, "post the result into the --server's history (the first --server's, with several; needs --invite or --admin-token)")
	f.StringVar(&u.invite, "invite", "", "with --upload: an invite token (from the invite link .../t/TOKEN); the result is stored under its label")
	f.StringVar(&u.adminToken, "admin-token", "", "with --upload: the server's admin token (default $RTCLAB_ADMIN_TOKEN)")
	f.StringVar(&u.label, "label", "", "with --upload --admin-token: the label to store the result under (customer, ticket)")
}

// check refuses flag combinations that cannot work, before anything runs.
func (u uploadFlags) check(servers []string) (uploadFlags, error) {
	if !u.on {
		if u.invite != "" || u.adminToken != "" || u.label != "" {
			return u, usagef("diagnose: --invite, --admin-token and --label go with --upload")
		}
		return u, nil
	}
	if u.adminToken == "" && u.invite == "" {
		u.adminToken = os.Getenv("RTCLAB_ADMIN_TOKEN")
	}
	switch {
	case len(servers) == 0:
		return u, usagef("diagnose: --upload needs --server (the rtclab serve whose history stores it)")
	case u.invite != "" && u.adminToken != "":
		return u, usagef("diagnose: --upload: give --invite or --admin-token, not both")
	case u.invite == "" && u.adminToken == "":
		return u, usagef("diagnose: --upload needs --invite TOKEN (from the invite link) or --admin-token (or $RTCLAB_ADMIN_TOKEN)")
	case u.invite != "" && len(servers) > 1:
		return u, usagef("diagnose: --upload --invite: an invite belongs to one server; use --admin-token to upload to several")
	case u.invite != "" && u.label != "":
		return u, usagef("diagnose: --label goes with --admin-token: an invite's results take the invite's label")
	}
	if err := history.CheckLabel(u.label); err != nil {
		return u, usagef("diagnose: --label: %v", strings.TrimPrefix(err.Error(), "history: invalid: label: "))
	}
	// An invite link pasted whole works too.
	if i := strings.LastIndex(u.invite, "/t/"); i >= 0 {
		u.invite = u.invite[i+3:]
	}
	return u, nil
}

// upload posts res to server's history and says where it went (on
// stderr: stdout carries the report).
func (u uploadFlags) upload(ctx context.Context, env *Env, client *http.Client, server string, res diagnose.Result) error {
	if !u.on {
		return nil
	}
	body, err := json.Marshal(res)
	if err != nil {
		return err
	}
	target := strings.TrimRight(server, "/") + "/api/v1/results"
	if u.label != "" {
		target += "?label=" + url.QueryEscape(u.label)
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("diagnose: --upload: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if u.invite != "" {
		req.Header.Set(history.InviteHeader, u.invite)
	} else {
		req.Header.Set("Authorization", "Bearer "+u.adminToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("diagnose: --upload to %s: %w (the report above is complete)", server, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated {
		var e struct{ Error string }
		_ = json.Unmarshal(answer, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(answer))
			if resp.StatusCode == http.StatusNotFound {
				e.Error += "; does it keep a history? (rtclab serve --db none does not)"
			}
		}
		return fmt.Errorf("diagnose: --upload to %s: %s: %s (the report above is complete)", server, resp.Status, e.Error)
	}
	var created struct{ ID, URL string }
	if err := json.Unmarshal(answer, &created); err != nil || created.ID == "" {
		return fmt.Errorf("diagnose: --upload to %s: unexpected answer %.200q", server, answer)
	}
	env.info("rtclab diagnose: stored in the history of %s as %s (%s%s)\n", server, created.ID, strings.TrimRight(server, "/"), created.URL)
	return nil
}

// writeDiagnosis prints one result (text or JSON) and writes --html.
func writeDiagnosis(env *Env, res diagnose.Result, asJSON bool, htmlFile string) error {
	var err error
	if asJSON {
		err = diagnose.WriteJSON(env.Stdout, res)
	} else {
		err = diagnose.WriteText(env.Stdout, res)
	}
	if err != nil {
		return err
	}
	if htmlFile == "" {
		return nil
	}
	var page bytes.Buffer
	if err := diagnose.WriteHTML(&page, res); err != nil {
		return fmt.Errorf("diagnose: --html: %w", err)
	}
	if err := reports.WriteFileAtomic(htmlFile, page.Bytes()); err != nil {
		return fmt.Errorf("diagnose: --html: %w", err)
	}
	return nil
}

// writeComparison prints several servers' ranking and writes --html.
func writeComparison(env *Env, cmp diagnose.Comparison, asJSON bool, htmlFile string) error {
	var err error
	if asJSON {
		err = diagnose.WriteComparisonJSON(env.Stdout, cmp)
	} else {
		err = diagnose.WriteComparisonText(env.Stdout, cmp)
	}
	if err != nil {
		return err
	}
	if htmlFile == "" {
		return nil
	}
	var page bytes.Buffer
	if err := diagnose.WriteComparisonHTML(&page, cmp); err != nil {
		return fmt.Errorf("diagnose: --html: %w", err)
	}
	if err := reports.WriteFileAtomic(htmlFile, page.Bytes()); err != nil {
		return fmt.Errorf("diagnose: --html: %w", err)
	}
	return nil
}
