package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/history"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/reproduce"
	"github.com/rtclab/rtclab/scenarios"
)

func newReproduceCmd(env *Env) *cobra.Command {
	var db, out, name string
	cmd := &cobra.Command{
		Use:   "reproduce RESULT",
		Short: "Write a scenario that puts a diagnosed network in the lab",
		Long: `Write a scenario YAML that reproduces the network a diagnosis measured,
so that 'rtclab run' shows what a call on it looks like.

RESULT is a file written by 'rtclab diagnose --json' (or a result saved
from the history's API), or the id of a result in the history (--db, as
for 'rtclab serve'; the console shows the id in each result's address).

The customer's side of the measured path becomes participant "customer"
(the far end, "peer", is on an open network; both publish audio and video
through the SFU for 30 s):

  - the NAT class (RFC 5780 mapping and filtering) becomes a nat: preset,
    or is spelled out when it has no common name;
  - no STUN answer and no TURN over UDP while TURN over TCP/TLS worked
    becomes nat: udp-blocked; only a relay connecting behind a NAT that
    allows direct paths becomes a firewall passing UDP only to TURN;
  - the best path's median RTT becomes delay (half each way), its RFC 3550
    jitter a normal jitter per direction, its round-trip loss a loss per
    direction (1 - sqrt(1 - loss));
  - upload and download become the uplink and downlink rates (unlimited
    when the data channel's window, not the network, was the limit).

Every line says in a comment which measurement it came from; the
scenario is checked by the scenario language before it is written. See
docs/reproduce.md.

Exit code: 0 written, 1 failed, 2 unusable input (no such file or result).`,
		Example: `  rtclab diagnose --server http://turn.example.com:8080 --json > diag.json
  rtclab reproduce diag.json -o customer.yaml && rtclab run customer.yaml
  rtclab reproduce --db ~/.local/state/rtclab/history.db q3n0Vx6Uo2l1d8rA7JcW1g`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if name != "" && !reproduce.ValidName(name) {
				return usagef("reproduce: --name %q: want 1 to 64 lower-case letters, digits and '-'", name)
			}
			res, from, err := loadResult(ctx, args[0], db)
			if err != nil {
				return err
			}
			y := reproduce.Scenario(res, reproduce.Source{Name: name, From: from})
			if _, err := scenarios.Parse("reproduce.yaml", y); err != nil {
				return fmt.Errorf("reproduce: the scenario written does not validate (a bug): %w", err)
			}
			if out == "" {
				_, err = env.Stdout.Write(y)
				return err
			}
			if err := reports.WriteFileAtomic(out, y); err != nil {
				return fmt.Errorf("reproduce: %w", err)
			}
			env.info("rtclab reproduce: wrote %s; run it with: rtclab run %s\n", out, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "history database to find a result id in (default as for 'rtclab serve')")
	f.StringVarP(&out, "output", "o", "", "write the scenario to this file (default stdout)")
	f.StringVar(&name, "name", "", "the scenario's name (default reproduce)")
	return cmd
}

// loadResult reads RESULT: a file if one has that name, else a result id
// in the history.
func loadResult(ctx context.Context, ref, db string) (diagnose.Result, string, error) {
	if data, err := os.ReadFile(ref); err == nil {
		res, err := reproduce.ReadResult(data)
		if err != nil {
			return res, "", usagef("reproduce: %s: %v", ref, strings.TrimPrefix(err.Error(), "reproduce: "))
		}
		return res, "file " + ref, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return diagnose.Result{}, "", usagef("reproduce: %v", err)
	}
	if strings.ContainsAny(ref, "/.") {
		return diagnose.Result{}, "", usagef("reproduce: no file %s (a result id has no '/' or '.')", ref)
	}
	path := db
	if path == "" {
		p, err := history.DefaultPath()
		if err != nil {
			return diagnose.Result{}, "", usagef("reproduce: --db: %v", err)
		}
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		return diagnose.Result{}, "", usagef("reproduce: %s is neither a file nor a result: no history at %s (--db)", ref, path)
	}
	store, err := history.Open(ctx, path)
	if err != nil {
		return diagnose.Result{}, "", usagef("reproduce: --db %s: %v", path, err)
	}
	defer store.Close()
	rec, err := store.Get(ctx, ref)
	if errors.Is(err, history.ErrNotFound) {
		return diagnose.Result{}, "", usagef("reproduce: no file and no result %s in the history %s", ref, path)
	}
	if err != nil {
		return diagnose.Result{}, "", err
	}
	res, err := reproduce.ReadResult(rec.Body)
	if err != nil {
		return res, "", fmt.Errorf("reproduce: result %s: %w", ref, err)
	}
	label := ""
	if rec.Label != "" {
		label = ", label " + rec.Label
	}
	return res, fmt.Sprintf("history result %s (%s%s)", rec.ID, rec.Created.Format("2006-01-02 15:04 UTC"), label), nil
}
