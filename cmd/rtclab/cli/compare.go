package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/compare"
	"github.com/rtclab/rtclab/reports"
)

func newCompareCmd(env *Env) *cobra.Command {
	var (
		htmlFile string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "compare OLD NEW",
		Short: "List every metric that moved beyond its noise between a baseline run and a new one",
		Long: `compare sets a new run against a baseline and lists every metric that moved
beyond its noise (worse ✗, better ✓): the regression check for
whoever changes the media stack.

OLD and NEW are report.json files or run directories (a run of several
scenarios is paired scenario by scenario through its summary.json).

Noise: two virtual-clock runs of a scenario with the same seed and
duration replay the same packet fates, so any change is real. Otherwise
(another seed, the real clock) a fraction of packets may move by four
binomial standard errors, a count by four Poisson standard deviations,
and a time, rate or score by 10 % (at least a floor of its unit) before
it counts. A check that passed and now fails, and a stream, participant
or scenario missing from NEW, are worse.

  rtclab run --out base quickstart
  ... change the stack ...
  rtclab run --out new quickstart
  rtclab compare base new

Exit codes: 0 nothing got worse beyond noise, 1 something did, 2 OLD or
NEW cannot be read or have no scenario in common.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("compare: want OLD and NEW, got %d argument(s) (see 'rtclab compare --help')", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			old, err := compare.Load(args[0])
			if err != nil {
				return &UsageError{Err: err}
			}
			next, err := compare.Load(args[1])
			if err != nil {
				return &UsageError{Err: err}
			}
			res, err := compare.Runs(old, next)
			if err != nil {
				if errors.Is(err, compare.ErrInput) {
					return &UsageError{Err: err}
				}
				return err
			}
			if htmlFile != "" {
				var b bytes.Buffer
				if err := compare.WriteHTML(&b, res); err != nil {
					return err
				}
				if err := reports.WriteFileAtomic(htmlFile, b.Bytes()); err != nil {
					return fmt.Errorf("compare --html: %w", err)
				}
			}
			if asJSON {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(struct {
					Headline string `json:"headline"`
					Worse    int    `json:"worse"`
					Better   int    `json:"better"`
					*compare.Result
				}{res.Headline(), res.Worse(), res.Better(), res}); err != nil {
					return err
				}
			} else if err := compare.WriteText(env.Stdout, res); err != nil {
				return err
			}
			if res.Worse() > 0 {
				return &exitError{code: ExitFail}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&htmlFile, "html", "", "also write the comparison as a self-contained HTML page to this file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the comparison as JSON instead of text")
	return cmd
}
