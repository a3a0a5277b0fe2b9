package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/yamldecode"
)

func newNetemCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "netem",
		Short: "Inspect the network emulator",
	}
	var (
		seed        int64
		asJSON      bool
		link, trace string
		backend     string
	)
	check := &cobra.Command{
		Use:   "check",
		Short: "Measure the emulator against its own configuration",
		Long: `Send known probe streams through each kind of impairment (random and
bursty loss, delay, uniform and normal jitter, FIFO ordering, rate limit
with a bottleneck queue, a capacity trace, duplication) in virtual time,
and print configured against measured values with the tolerance each is
held to and why. Exit code 1 when any quantity is out of tolerance.

With --backend kernel (root) the probes cross the kernel backend's TUN
links between network namespaces in real time instead: loss, delay,
jitter and rate, with the real-time tolerances of docs/netem.md.

With --link (the fields of a scenario's uplink or downlink, e.g.
'rate: 300kbps, queue: 100ms, jitter: 20ms') and/or --trace FILE (a
mahimahi capacity trace, or builtin:NAME), it measures that link instead:
one probe stream per part of it (loss, delay and jitter, rate or trace,
duplication). A mistake in either is reported with its field and what is
allowed, exit code 2.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kern := false
			switch backend {
			case scenarios.BackendInProcess:
				if env.Bubble == nil {
					return usagef("netem check needs virtual time, which this build lacks (or --backend kernel)")
				}
			case scenarios.BackendKernel:
				if err := kernel.Check(); err != nil {
					return fmt.Errorf("--backend kernel: %w", err)
				}
				kern = true
			default:
				return usagef("--backend %q: allowed %s%s", backend, strings.Join(scenarios.Backends, ", "), yamldecode.DidYouMean(backend, scenarios.Backends))
			}
			var results []netem.FidelityResult
			var err error
			if link != "" || trace != "" {
				imp, perr := scenarios.ParseLink("--link", link, trace)
				if perr != nil {
					return usagef("%v", perr)
				}
				if imp == (netem.Impairment{}) {
					return usagef("--link %q sets nothing to measure (fields: loss, burst, delay, jitter, jitter_distribution, reorder, rate, queue, duplicate, trace)", link)
				}
				if kern {
					results, err = netem.CheckLinkOn(seed, imp, kernel.Builder(kernel.Options{}))
				} else {
					env.Bubble(func() { results, err = netem.CheckLink(seed, imp) })
				}
			} else if kern {
				env.info("measuring the kernel backend in real time (about a minute)\n")
				results, err = netem.CheckFidelityOn(seed, kernel.Builder(kernel.Options{}))
			} else {
				env.Bubble(func() { results, err = netem.CheckFidelity(seed) })
			}
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range results {
				if !r.Pass {
					failed++
				}
			}
			if asJSON {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(results); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "CASE\tQUANTITY\tCONFIGURED\tMEASURED\tTOLERANCE\tVERDICT\tWHY")
				for _, r := range results {
					v := "ok"
					if !r.Pass {
						v = "OUT"
					}
					fmt.Fprintf(tw, "%s\t%s\t%g\t%g\t±%g\t%s\t%s\n", r.Case, r.Quantity, r.Configured, r.Measured, r.Tolerance, v, r.Why)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "\n%d of %d quantities within tolerance (seed %d)\n", len(results)-failed, len(results), seed)
			}
			if failed > 0 {
				return &exitError{code: ExitFail}
			}
			return nil
		},
	}
	check.Flags().Int64Var(&seed, "seed", 1, "seed of the emulated links' random choices")
	check.Flags().StringVar(&backend, "backend", scenarios.BackendInProcess, "in-process (virtual time, the whole suite) or kernel (network namespaces and\nTUN links, real time, root: loss, delay, jitter and rate, about a minute)")
	_ = check.RegisterFlagCompletionFunc("backend", fixedValues(scenarios.Backends...))
	check.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	check.Flags().StringVar(&link, "link", "", "measure this link instead of the built-in cases, e.g. 'rate: 300kbps, queue: 100ms, jitter: 20ms'")
	check.Flags().StringVar(&trace, "trace", "", "measure this mahimahi capacity trace (a file, or builtin:NAME)")
	_ = check.RegisterFlagCompletionFunc("trace", func(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []string
		for _, n := range scenarios.BuiltinTraces() {
			if v := "builtin:" + n; strings.HasPrefix(v, prefix) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveDefault // or a trace file
	})
	cmd.AddCommand(check)
	return cmd
}
