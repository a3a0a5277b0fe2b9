package cli

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/stack/clip"
)

func newBenchCmd(env *Env) *cobra.Command {
	var (
		runs                   int
		asJSON                 bool
		cpuProfile, memProfile string
	)
	cmd := &cobra.Command{
		Use:   "bench [SCENARIO ...]",
		Short: "Measure how fast scenarios run in virtual time, and how much memory they take",
		Long: `Run each scenario (default: every built-in one) several times in virtual
time and print the wall time per run, the speed-up over real time, the CPU
time per run (on a shared machine the wall time includes waiting for a
CPU), the memory allocated per run and per media packet received (the
sum of every stream's packets_received), the peak heap (the largest heap
seen once a second of the call, garbage included), and how fast the
live heap grows with the call (MB per minute of scenario time, from a
third of the call to its end, for calls of 3 minutes or more: about 0
when nothing is kept per packet). Nothing is written to disk unless
--cpuprofile or --memprofile ask for a profile of every run (read it
with go tool pprof). Use it to quote speed and memory;
the tests never assert on time.`,
		Example: `  rtclab bench
  rtclab bench quickstart --runs 10
  rtclab bench webinar-50 --runs 1 --cpuprofile cpu.out --memprofile mem.out`,
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
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return &UsageError{Err: fmt.Errorf("--cpuprofile: %w", err)}
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			var rows []benchRow
			for _, s := range list {
				var minWall, sumWall float64
				var packets uint64
				var before, after runtime.MemStats
				var peak uint64
				var sumGrowth float64
				grown := 0
				// The scenario's runs share the clips as a sweep's do:
				// the first run reads and parses them, in the figures.
				clips := clip.NewLibrary(rtclab.Clips)
				runtime.GC()
				runtime.ReadMemStats(&before)
				cpu0 := cpuSeconds()
				done := 0
				for i := range runs {
					if env.Interrupt.Load() {
						break
					}
					// Twice: what sync.Pools held at the first collection
					// stays live until the second (their victim caches),
					// and a pooled object can keep a whole finished call
					// reachable: 99 MB of the run before, counted in this
					// run's peak heap, after the one collection a
					// bubble makes as it starts.
					runtime.GC()
					runtime.GC()
					start := time.Now()
					var err error
					var rep *reports.Report
					var growth heapGrowth
					env.Bubble(func() {
						rep, err = runner.Run(context.Background(), s, runner.Options{Clock: runner.ClockVirtual, Progress: growth.sample, Clips: clips})
					})
					w := time.Since(start).Seconds()
					if err != nil {
						return fmt.Errorf("%s: %w", s.Name, err)
					}
					packets += mediaPackets(rep)
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					peak = max(peak, m.HeapAlloc, growth.peak)
					if g, ok := growth.perMinute(); ok {
						sumGrowth += g
						grown++
					}
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
				allocs, bytes := after.Mallocs-before.Mallocs, after.TotalAlloc-before.TotalAlloc
				row := benchRow{
					Scenario: s.Name, Runs: done, ScenarioSeconds: s.Duration.Seconds(),
					WallMin: minWall, WallMean: sumWall / n, SpeedUp: s.Duration.Seconds() / (sumWall / n),
					CPUPerRun: (cpuSeconds() - cpu0) / n, AllocMBPerRun: float64(bytes) / n / 1e6,
					PeakHeapMB: float64(peak) / 1e6, PacketsPerRun: packets / uint64(done),
				}
				if grown > 0 {
					g := sumGrowth / float64(grown)
					row.HeapGrowthMBPerMin = &g
				}
				if packets > 0 {
					row.AllocsPerPacket = float64(allocs) / float64(packets)
					row.KBPerPacket = float64(bytes) / 1e3 / float64(packets)
				}
				rows = append(rows, row)
			}
			if memProfile != "" {
				if err := writeAllocProfile(memProfile); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(env, benchJSON{Tool: env.build, GOMAXPROCS: runtime.GOMAXPROCS(0), Rows: rows})
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "scenario\truns\tscenario s\twall s/run (min)\twall s/run (mean)\tspeed-up\tCPU s/run\tMB alloc/run\tpackets/run\tallocs/packet\tKB alloc/packet\tpeak heap MB\theap MB/call-min\t")
			for _, r := range rows {
				growth := "-"
				if r.HeapGrowthMBPerMin != nil {
					growth = fmt.Sprintf("%.2f", *r.HeapGrowthMBPerMin)
				}
				fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.3f\t%.3f\t%s\t%.2f\t%.1f\t%d\t%s\t%s\t%.1f\t%s\t\n", r.Scenario, r.Runs, r.ScenarioSeconds,
					r.WallMin, r.WallMean, speedUp(r.SpeedUp), r.CPUPerRun, r.AllocMBPerRun, r.PacketsPerRun,
					perPacket(r.AllocsPerPacket, r.PacketsPerRun, "%.0f"), perPacket(r.KBPerPacket, r.PacketsPerRun, "%.1f"), r.PeakHeapMB, growth)
			}
			// A run uses one P (package bubble); the load average says how
			// much of a CPU it got on a shared machine.
			fmt.Fprintf(tw, "\n(runs on 1 of %d CPUs in the bubble, %s%s)\t\t\t\t\t\t\t\t\t\t\t\t\t\n", runtime.NumCPU(), runtime.Version(), loadAverage())
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&runs, "runs", 5, "runs per scenario")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the measurements as JSON")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of every run to `FILE`")
	cmd.Flags().StringVar(&memProfile, "memprofile", "", "write an allocation profile (every allocation since start, sampled) to `FILE`")
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
	// PacketsPerRun is the media RTP packets received per run (every
	// stream's packets_received); 0 for the flows topology.
	PacketsPerRun uint64 `json:"packets"`
	// AllocsPerPacket and KBPerPacket are the allocations and kilobytes
	// allocated per packet received; 0 without packets.
	AllocsPerPacket float64 `json:"allocs_per_packet"`
	KBPerPacket     float64 `json:"kb_alloc_per_packet"`
	// HeapGrowthMBPerMin is how fast the live heap grew as the call went
	// on: the live heap after a full GC at the end of the call less that
	// at a third of it, per minute of scenario time between the two (the
	// mean over the runs). What a call keeps per packet shows here; it
	// should be about 0. Absent for a call shorter than minGrowthCall,
	// whose first minute is mostly warm-up (quickstart's 30 s: 13 MB/min
	// from 10 s to 28 s, 0.25 MB/min over 20 minutes).
	HeapGrowthMBPerMin *float64 `json:"heap_growth_mb_per_call_min,omitempty"`
}

// heapGrowth samples the live heap (after a full GC) twice in a run, at a
// third of the call and 2 s before its end, from runner.Options.Progress,
// and the heap, garbage included, every second of the call: the bubble
// collects only at fixed instants (runner's gcEvery: every 30 s in a small
// call), so the heap is largest just before one, not when the run ends.
type heapGrowth struct {
	at   [2]time.Duration
	heap [2]uint64
	n    int
	peak uint64 // the largest heap seen
}

// minGrowthCall is the shortest call whose heap growth bench reports.
const minGrowthCall = 3 * time.Minute

func (g *heapGrowth) sample(elapsed, total time.Duration) {
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}} // HeapAlloc, without stopping the world
	metrics.Read(heap)
	g.peak = max(g.peak, heap[0].Value.Uint64())
	if total < minGrowthCall || g.n == 2 {
		return
	}
	if when := [2]time.Duration{total / 3, total - 2*time.Second}[g.n]; elapsed < when {
		return
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	g.at[g.n], g.heap[g.n] = elapsed, m.HeapAlloc
	g.n++
}

// perMinute is the growth in MB per minute of the call; false without
// both samples.
func (g *heapGrowth) perMinute() (float64, bool) {
	if g.n < 2 || g.at[1] <= g.at[0] {
		return 0, false
	}
	return (float64(g.heap[1]) - float64(g.heap[0])) / 1e6 / (g.at[1] - g.at[0]).Minutes(), true
}

// mediaPackets is the number of media RTP packets every receiver of a run
// got (each stream's packets_received): the unit of "per packet".
func mediaPackets(rep *reports.Report) uint64 {
	var n uint64
	if rep != nil {
		for _, st := range rep.Streams {
			n += st.PacketsReceived
		}
	}
	return n
}

// perPacket formats v, a per-packet figure, or "-" when no packet was
// counted.
func perPacket(v float64, packets uint64, format string) string {
	if packets == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// writeAllocProfile writes the heap profile, whose alloc_space and
// alloc_objects sample every allocation since the process started
// (go tool pprof -sample_index=alloc_space).
func writeAllocProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("--memprofile: %w", err)}
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("--memprofile %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--memprofile %s: %w", name, err)
	}
	return nil
}

// loadAverage is ", load average 1.20 0.90 0.80" from /proc/loadavg, or
// "" where there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return ", load average " + strings.Join(f[:3], " ")
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
