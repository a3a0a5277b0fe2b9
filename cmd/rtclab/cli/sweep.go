package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/shard"
	"github.com/rtclab/rtclab/sweep"
)

func newSweepCmd(env *Env) *cobra.Command {
	var (
		out       string
		varies    []string
		metrics   []string
		workers   int
		procs     int
		shardFlag string
		verbose   bool
		overwrite bool
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "sweep [SCENARIO] --vary PATH=VALUES [--vary ...]",
		Short: "Run a scenario over a grid of values of its fields and plot metrics against them",
		Long: `Run one scenario once per combination of the values of the fields given
with --vary, each run (cell) in its own virtual-time bubble, and write one
report: sweep.json, sweep.csv, report.html and a chart per metric against
the varied fields (a line per stream for one field, a grid of cells for two).

--vary PATH=VALUES sets the field at PATH in each cell. PATH is dot-separated
YAML keys; in a list, an item's name or index ("participants.bob.downlink.loss",
"participants.0.nat", "seed"). VALUES is a list ("symmetric,open") or a range
"lo..hi/step" (step 1 if left out) in the unit the field takes: "0%..10%/1%",
"20ms..100ms/20ms", "1..5". The first --vary varies slowest. Each cell is
validated like a scenario file: nothing runs if one is invalid.

--metric names a metric to tabulate and plot (one value per participant or
stream; default: those the scenario's expect entries check). The scenario's
checks are evaluated in every cell.

--shard I/N runs only cells whose index mod N is I (for N machines or an
Indexed Kubernetes Job, see 'rtclab k8s job'); 'rtclab merge' combines the
shards' folders into the report of the whole sweep.

Cells run in --procs processes at once (default one per core), each
taking a shard of the cells; in one process they would share one core,
because a virtual-time run pins its process to one for repeatable runs.

Ctrl-C stops starting cells; the report then holds the cells done, the
rest marked not run.
Exit code: 0 every cell ran and passed its checks, 1 a cell failed or did
not run, 2 unusable input (nothing is run).`,
		Example: `  rtclab sweep quickstart --vary 'participants.bob.downlink.loss=0%..10%/1%' --metric freeze_count --metric mos
  rtclab sweep quickstart --vary 'participants.bob.downlink.loss=0%,5%' --vary seed=1..5 --out /tmp/sweep
  rtclab sweep my.yaml --vary participants.alice.nat=open,symmetric --shard 0/4 --out /results/shard-0`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("sweep accepts at most 1 scenario, received %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if env.Bubble == nil {
				return usagef("sweep needs virtual time, which this build lacks")
			}
			if workers < 1 || workers > 64 {
				return usagef("--workers %d: allowed 1..64", workers)
			}
			sh, err := shard.Parse(shardFlag)
			if err != nil {
				return usagef("--shard: %w", err)
			}
			if len(varies) == 0 {
				return usagef("sweep needs at least one --vary PATH=VALUES (e.g. --vary seed=1..5)")
			}
			ref := scenarios.DefaultScenario
			if len(args) == 1 {
				ref = args[0]
			}
			// Parse everything first: bad input runs nothing.
			var axes []sweep.Axis
			var errs []error
			for _, v := range varies {
				a, err := sweep.ParseVary(v)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				axes = append(axes, a)
			}
			if len(errs) > 0 {
				return &UsageError{Err: errors.Join(errs...)}
			}
			data, file, err := scenarios.Read(ref)
			if err != nil {
				return &UsageError{Err: err}
			}
			plan, err := sweep.NewPlan(file, data, axes, metrics)
			if err != nil {
				return &UsageError{Err: err}
			}
			if !cmd.Flags().Changed("procs") {
				procs = 1
				if env.Executable != "" && !sh.Active() {
					procs = max(1, min(runtime.NumCPU(), len(plan.Cells)))
				}
			}
			switch {
			case procs < 1 || procs > 256:
				return usagef("--procs %d: allowed 1..256", procs)
			case procs > 1 && sh.Active():
				return usagef("--procs %d with --shard: a shard runs in one process", procs)
			case procs > 1 && env.Executable == "":
				return usagef("--procs %d: this build cannot start copies of itself; use --procs 1", procs)
			}
			tool := env.tool()
			var od *outDir
			if out == "" {
				od, err = claimDefaultOut(defaultOutRoot, "sweep-", env.now(), tool)
			} else {
				od, err = claimOut(out, overwrite, tool)
			}
			if err != nil {
				return err
			}
			n := len(sh.Indices(len(plan.Cells)))
			env.info("sweeping %s: %d cells", plan.Scenario, len(plan.Cells))
			if sh.Active() {
				env.info(", %d in shard %s", n, sh)
			}
			if procs > 1 {
				env.info(" (virtual clock, %d processes) -> %s\n", procs, od.path)
				env.onStop("stopping the shard processes; writing the partial report")
				res, err := procSweep(env, od, sweepChildArgs(ref, varies, metrics), procs)
				if err != nil {
					return err
				}
				return writeSweep(env, od, res, verbose, asJSON)
			}
			env.info(" (virtual clock, %d worker(s)) -> %s\n", workers, od.path)
			env.onStop("writing the partial report")
			term := env.progress()
			warned := false
			if err := od.record(sweep.JSONFile); err != nil {
				return err
			}
			res, runErr := sweep.Run(context.Background(), plan, sweep.Options{
				// sweep.json after every cell: a killed sweep leaves one.
				Checkpoint: func(r *sweep.Result) {
					js, err := sweep.EncodeJSON(r)
					if err == nil {
						err = reports.WriteFileAtomic(filepath.Join(od.path, sweep.JSONFile), js)
					}
					if err != nil && !warned {
						warned = true
						fmt.Fprintf(env.Stderr, "rtclab: sweep.json not updated as cells end: %v\n", err)
					}
				},
				Bubble: env.Bubble, Workers: workers, Shard: sh, Interrupt: env.Interrupt, Tool: tool,
				Progress: func(done, total int, c sweep.Cell) {
					if term {
						fmt.Fprintf(env.Stderr, "\r  %d/%d cells", done, total)
					}
					if verbose {
						fmt.Fprintf(env.Stderr, "  cell %d %v: %s\n", c.Index, c.Values, c.Status)
					}
				},
			})
			if term {
				fmt.Fprintln(env.Stderr) // end the progress line
			}
			if runErr != nil && !errors.Is(runErr, sweep.ErrInterrupted) {
				return runErr
			}
			if runErr != nil {
				fmt.Fprintf(env.Stderr, "sweep stopped early: %v (the report is partial)\n", runErr)
			}
			return writeSweep(env, od, res, verbose, asJSON)
		},
	}
	cmd.Flags().StringArrayVar(&varies, "vary", nil, "PATH=VALUES: a field and its values, a list (a,b,c) or a range (lo..hi/step); repeatable")
	cmd.Flags().StringArrayVar(&metrics, "metric", nil, "a metric to tabulate and plot; repeatable (default: those the scenario checks)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory, new or empty (default a new rtclab-out/sweep-<timestamp>[-N])")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "let --out name a folder an earlier rtclab run wrote into: what that run\nwrote is removed first (anything else there stays)")
	cmd.Flags().IntVar(&procs, "procs", 0, "processes the cells are shared out to, one shard each, merged at the end\n(default: one per core, at most one per cell; 1 with --shard)")
	cmd.Flags().IntVar(&workers, "workers", 1, "cells run at once in one process, each in its own bubble (they share\none core: a bubble pins the process to one; --procs uses more)")
	cmd.Flags().StringVar(&shardFlag, "shard", "", "I/N: run only the cells whose index mod N is I (merge the shards with 'rtclab merge')")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every cell as it finishes")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON summary on stdout (verdict, cell counts, file paths) instead of the table")
	return cmd
}

// sweepJSON is what `rtclab sweep --json` prints.
type sweepJSON struct {
	// Verdict is "pass" when every cell ran and passed its checks.
	Verdict string `json:"verdict"`
	// Tool is the build that ran the sweep.
	Tool reports.ToolBuild `json:"tool"`
	// Partial is true when a cell was not run (Ctrl-C, a missing shard).
	Partial bool `json:"partial,omitempty"`
	// Cells counts this output's cells, and them by status.
	Cells  int `json:"cells"`
	Passed int `json:"passed"`
	Failed int `json:"failed"`
	Errors int `json:"errors"`
	NotRun int `json:"not_run"`
	// Result, Table and Report are the sweep.json, sweep.csv and
	// report.html written.
	Result string `json:"result"`
	Table  string `json:"table"`
	Report string `json:"report"`
}

// writeSweep writes a sweep's (or a merge's) outputs into od, prints its
// table (or, asJSON, a JSON summary), and returns the exit status.
func writeSweep(env *Env, od *outDir, res *sweep.Result, verbose, asJSON bool) error {
	files, werr := sweep.Write(od.path, res)
	if err := od.finish(files, werr); err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(env, sweepJSON{
			Verdict: res.Verdict, Tool: env.build, Partial: res.Partial, Cells: len(res.Cells),
			Passed: res.Passed, Failed: res.Failed, Errors: res.Errors, NotRun: res.NotRun,
			Result: filepath.Join(od.path, sweep.JSONFile), Table: filepath.Join(od.path, sweep.CSVFile),
			Report: filepath.Join(od.path, sweep.HTMLFile),
		}); err != nil {
			return err
		}
	} else {
		if err := sweep.WriteText(env.Stdout, res); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "\nreport: %s\n", filepath.Join(od.path, sweep.HTMLFile))
	}
	if verbose {
		for _, f := range files {
			fmt.Fprintf(env.Stderr, "wrote %s\n", f)
		}
	}
	if res.Verdict != "pass" {
		return &exitError{code: ExitFail}
	}
	return nil
}
