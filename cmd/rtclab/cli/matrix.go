package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/matrix"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/shard"
	"github.com/rtclab/rtclab/yamldecode"
)

func newMatrixCmd(env *Env) *cobra.Command {
	var (
		out       string
		workers   int
		seed      int64
		ice       []string
		verbose   bool
		asJSON    bool
		overwrite bool
		shardFlag string
		backend   string
	)
	cmd := &cobra.Command{
		Use:   "matrix [FILE]",
		Short: "Run every NAT behaviour against every other, per ICE configuration, and check each cell against the RFCs",
		Long: `Run the connectivity matrix: every NAT behaviour calls every other peer to
peer (rows: the offerer, columns: the answerer), once per ICE configuration:
host-only (no ICE servers), stun, stun-turn, relay-only (TURN with
iceTransportPolicy relay). By default the rows and columns are the 7 NAT
presets (` + strings.Join(natNames(), ", ") + `),
so 7 x 7 x 4 = 196 cells, each ` + matrix.DefaultDuration.String() + ` of scenario time in virtual time.

Every cell records whether it connected, how fast, the selected pair, the
candidates gathered per type and the connectivity checks sent, and is
compared with what RFC 4787 and RFC 8445 say must happen (see report.html
for the rules). A cell that is neither expected nor explained by a known
behaviour of pion's ICE fails the run.

FILE, optional, narrows or widens the grid (YAML; every key optional):

  nats: [open, symmetric, cgn-sym]   # rows/columns: presets or custom names
  custom:
    - name: cgn-sym
      mapping: address-and-port-dependent
      filtering: address-and-port-dependent
      cgn: {mapping: endpoint-independent, filtering: address-dependent}
  ice: [stun, stun-turn]
  seed: 7
  duration: 5s                       # per-cell time limit, 1s..60s

Writes matrix.json, heatmap.png and report.html into --out.
Exit code: 0 every cell as expected (or a known pion behaviour), 1 an
unexpected cell, 2 unusable input (nothing is run).`,
		Example: `  rtclab matrix
  rtclab matrix --ice stun,stun-turn --out /tmp/matrix
  rtclab matrix my-grid.yaml --workers 2`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("matrix accepts at most 1 arg (a matrix file), received %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch backend {
			case scenarios.BackendInProcess:
				if env.Bubble == nil {
					return usagef("matrix needs virtual time, which this build lacks (or --backend kernel)")
				}
			case scenarios.BackendKernel:
				if err := kernel.Check(); err != nil {
					return fmt.Errorf("--backend kernel: %w", err)
				}
			default:
				return usagef("--backend %q: allowed %s%s", backend, strings.Join(scenarios.Backends, ", "), yamldecode.DidYouMean(backend, scenarios.Backends))
			}
			if workers < 1 || workers > 16 {
				return usagef("--workers %d: allowed 1..16", workers)
			}
			sh, err := shard.Parse(shardFlag)
			if err != nil {
				return usagef("--shard: %w", err)
			}
			plan := matrix.DefaultPlan()
			file := ""
			if len(args) == 1 {
				file = args[0]
				p, err := matrix.LoadFile(file)
				if err != nil {
					return &UsageError{Err: err}
				}
				plan = p
			}
			if cmd.Flags().Changed("seed") {
				if seed < 1 {
					return usagef("--seed %d: must be >= 1", seed)
				}
				plan.Seed = seed
			}
			if len(ice) > 0 {
				var list []matrix.ICEConfig
				var errs []error
				for _, name := range ice {
					c := matrix.ICEConfig(name)
					if !c.Valid() {
						errs = append(errs, fmt.Errorf("--ice %q: allowed %s%s", name, iceNames(), yamldecode.DidYouMean(name, strings.Split(iceNames(), ", "))))
						continue
					}
					if !slices.Contains(list, c) {
						list = append(list, c)
					}
				}
				if len(errs) > 0 {
					return &UsageError{Err: errors.Join(errs...)}
				}
				plan.ICE = list
			}
			// Claim a folder no other run can share (see rtclab run).
			tool := env.tool()
			var od *outDir
			if out == "" {
				od, err = claimDefaultOut(defaultOutRoot, "matrix-", env.now(), tool)
			} else {
				od, err = claimOut(out, overwrite, tool)
			}
			if err != nil {
				return err
			}
			out = od.path
			if backend == scenarios.BackendKernel {
				plan.Backend = backend
			}
			total := len(plan.Cells())
			env.onStop("finishing the cells under way, then writing the partial result")
			clock := "virtual clock"
			if plan.Backend == scenarios.BackendKernel {
				clock = "kernel backend, real clock"
			}
			env.info("running the connectivity matrix: %d NATs x %d NATs x %d ICE configurations = %d cells, %v each (%s, %d worker(s)) -> %s\n",
				len(plan.NATs), len(plan.NATs), len(plan.ICE), total, plan.Duration, clock, workers, out)
			res, runErr := matrix.Run(context.Background(), plan, matrix.Options{
				Bubble: env.Bubble, Workers: workers, Interrupt: env.Interrupt,
				Tool: env.tool(), File: file, Shard: sh,
				Progress: func(done, total int, c matrix.CellResult) {
					if env.progress() {
						fmt.Fprintf(env.Stderr, "\r  %d/%d cells", done, total)
					}
					if verbose {
						fmt.Fprintf(env.Stderr, "  %s %s -> %s: %s (%s)\n", c.ICE, c.Row, c.Col, c.Path, c.Status)
					}
				},
			})
			if env.progress() {
				fmt.Fprintln(env.Stderr) // end the progress line
			}
			if runErr != nil && !errors.Is(runErr, matrix.ErrInterrupted) {
				return runErr
			}
			if runErr != nil {
				fmt.Fprintf(env.Stderr, "matrix stopped early: %v (the result is partial)\n", runErr)
			}
			return writeMatrix(env, od, res, verbose, asJSON)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory, new or empty (default a new rtclab-out/matrix-<timestamp>[-N])")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "let --out name a folder an earlier rtclab run wrote into: what that run\nwrote is removed first (anything else there stays)")
	cmd.Flags().IntVar(&workers, "workers", 2, "cells run at once, each in its own virtual-time bubble (kernel: its own namespaces)")
	cmd.Flags().StringVar(&backend, "backend", scenarios.BackendInProcess, "network of every cell: in-process (virtual time) or kernel\n(network namespaces and nftables NATs, real time, needs root)")
	_ = cmd.RegisterFlagCompletionFunc("backend", fixedValues(scenarios.Backends...))
	cmd.Flags().Int64Var(&seed, "seed", 1, "seed of every cell's emulated network (overrides the file's)")
	cmd.Flags().StringSliceVar(&ice, "ice", nil, "ICE configurations to run (overrides the file's): "+iceNames())
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every cell as it finishes")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON summary on stdout (verdict, cell counts, file paths) instead of the text table")
	_ = cmd.RegisterFlagCompletionFunc("ice", func(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return completeList(prefix, strings.Split(iceNames(), ", ")), cobra.ShellCompDirectiveNoFileComp
	})
	cmd.Flags().StringVar(&shardFlag, "shard", "", "I/N: run only the cells whose index mod N is I (merge the shards with 'rtclab merge')")
	return cmd
}

func iceNames() string {
	s := make([]string, len(matrix.ICEConfigs))
	for i, c := range matrix.ICEConfigs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func natNames() []string {
	var s []string
	for _, n := range matrix.DefaultPlan().NATs {
		s = append(s, n.Name)
	}
	return s
}
