package cli

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
)

func newBenchCmd(env *Env) *cobra.Command {
	var (
		runs   int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "bench [SCENARIO ...]",
		Short: "Measure how fast scenarios run in virtual time, and how much memory they take",
		Long: `Run each scenario (default: every built-in one) several times in virtual
time and print the wall time per run, the speed-up over real time, the CPU
time per run (on a shared machine the wall time includes waiting for a
CPU), and the memory allocated and the peak heap. Nothing is written to disk. Use it to
quote speed and memory; the tests never assert on time.`,
		Example: `  rtclab bench
  rtclab bench quickstart --runs 10`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if env.Bubble == nil {
				return usagef("bench needs virtual time, which this build lacks")
			}
			if runs < 1 || runs > 1000 {
				return usagef("--runs %d: allowed 1..1000", runs)
			}
			if len(args) == 0 {
				args = scenarios.BuiltinNames()
			}
			var list []*scenarios.Scenario
			for _, a := range args {
				refs, err := expandArg(a) // a file, a directory or a group, as for run
				if err != nil {
					return &UsageError{Err: err}
				}
				for _, ref := range refs {
					s, err := scenarios.Load(ref)
					if err != nil {
						return &UsageError{Err: err}
					}
					list = append(list, s)
				}
			}
			var rows []benchRow
			for _, s := range list {
				var minWall, sumWall float64
				var before, after runtime.MemStats
				var peak uint64
				runtime.GC()
				runtime.ReadMemStats(&before)
				cpu0 := cpuSeconds()
				done := 0
				for i := range runs {
					if env.Interrupt.Load() {
						break
					}
					start := time.Now()
					var err error
					env.Bubble(func() {
						_, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual})
					})
					w := time.Since(start).Seconds()
					if err != nil {
						return fmt.Errorf("%s: %w", s.Name, err)
					}
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					peak = max(peak, m.HeapAlloc)
					sumWall += w
					done++
					if i == 0 || w < minWall {
						minWall = w
					}
				}
				runtime.ReadMemStats(&after)
				if done == 0 {
					break // interrupted before a run finished
				}
				n := float64(done) // an interrupted scenario's means are over the runs done
				rows = append(rows, benchRow{
					Scenario: s.Name, Runs: done, ScenarioSeconds: s.Duration.Seconds(),
					WallMin: minWall, WallMean: sumWall / n, SpeedUp: s.Duration.Seconds() / (sumWall / n),
					CPUPerRun: (cpuSeconds() - cpu0) / n, AllocMBPerRun: float64(after.TotalAlloc-before.TotalAlloc) / n / 1e6,
					PeakHeapMB: float64(peak) / 1e6,
				})
			}
			if asJSON {
				return writeJSON(env, benchJSON{Tool: env.build, GOMAXPROCS: runtime.GOMAXPROCS(0), Rows: rows})
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "scenario\truns\tscenario s\twall s/run (min)\twall s/run (mean)\tspeed-up\tCPU s/run\tMB alloc/run\tpeak heap MB\t")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.3f\t%.3f\t%s\t%.2f\t%.1f\t%.1f\t\n", r.Scenario, r.Runs, r.ScenarioSeconds,
					r.WallMin, r.WallMean, speedUp(r.SpeedUp), r.CPUPerRun, r.AllocMBPerRun, r.PeakHeapMB)
			}
			fmt.Fprintf(tw, "\n(GOMAXPROCS=%d, %s)\t\t\t\t\t\t\t\t\t\n", runtime.GOMAXPROCS(0), runtime.Version())
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&runs, "runs", 5, "runs per scenario")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the measurements as JSON")
	cmd.ValidArgsFunction = completeScenarios
	return cmd
}

// benchJSON is `rtclab bench --json`.
type benchJSON struct {
	// Tool is the build measured.
	Tool reports.ToolBuild `json:"tool"`
	// GOMAXPROCS is the number of CPUs Go used.
	GOMAXPROCS int `json:"gomaxprocs"`
	// Rows are the scenarios measured, in order.
	Rows []benchRow `json:"scenarios"`
}

// benchRow is one scenario's measurements, per run.
type benchRow struct {
	Scenario        string  `json:"scenario"`
	Runs            int     `json:"runs"`
	ScenarioSeconds float64 `json:"scenario_s"`
	WallMin         float64 `json:"wall_s_min"`
	WallMean        float64 `json:"wall_s_mean"`
	SpeedUp         float64 `json:"speed_up"`
	CPUPerRun       float64 `json:"cpu_s"`
	AllocMBPerRun   float64 `json:"alloc_mb"`
	PeakHeapMB      float64 `json:"peak_heap_mb"`
}

// speedUp formats scenario time over wall time: "75x", "0.36x".
func speedUp(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0fx", v)
	}
	return fmt.Sprintf("%.2fx", v)
}

// cpuSeconds is the CPU time (user and system) this process has used: on
// a machine shared with other work the wall time says little, the CPU
// time what a run costs.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
