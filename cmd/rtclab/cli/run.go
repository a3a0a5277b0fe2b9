package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/runner"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/shard"
	"github.com/rtclab/rtclab/yamldecode"
)

// metricHelp lists one family of analysis.Metrics, one per line.
func metricHelp(flows bool) string {
	var b strings.Builder
	for _, name := range analysis.MetricNames(flows) {
		m, _ := analysis.LookupMetric(name, flows)
		kind := ""
		if m.Kind != analysis.KindAny {
			kind = ", " + string(m.Kind)
		}
		if m.Simulcast {
			kind += ", simulcast"
		}
		fmt.Fprintf(&b, "  %-24s %s%s, %s: %s\n", m.Name, m.Scope, kind, m.Unit, m.Meaning)
	}
	return b.String()
}

func newRunCmd(env *Env) *cobra.Command {
	var (
		out       string
		clock     string
		pcap      string
		rtpLog    string
		quality   bool
		verbose   bool
		overwrite bool
		seed      int64
		requireCk bool
		asJSON    bool
		shardFlag string
	)
	cmd := &cobra.Command{
		Use:   "run [SCENARIO ...]",
		Short: "Run scenarios and write their reports",
		Long: `Run one or more scenarios: build the emulated network, start the embedded
stack (signaling, STUN/TURN, SFU) and the simulated participants, measure,
and write report.json, report.html, junit.xml, events.jsonl and PNG plots.

A SCENARIO is a YAML file, a directory of them (every *.yaml in it), the
name of a built-in scenario, "rfc8867" for the built-in RFC 8867 test
cases, or "privacy" for the privacy set (what each party of a call learns:
relay_only, mDNS, .local-stripping signaling, TURN, the SFU). With
several scenarios each gets its own directory in --out, and summary.json
and index.html sum them up. Without one,
the built-in "` + scenarios.DefaultScenario + `" runs.

Built-in scenarios: ` + joinNames(scenarios.BuiltinNames()) + `

With --clock virtual (the default) the whole stack runs in a
testing/synctest bubble: time jumps ahead whenever every goroutine waits,
so a 30 s call takes well under a second and repeats exactly for a seed.
With --clock real it runs on the wall clock. A scenario with
"backend: kernel" always runs on the wall clock, in Linux network
namespaces with nftables NATs and real sockets (root; docs/netem.md).

Metrics an expect entry may check (per, media kind, unit):
` + metricHelp(false) + `
and in a flows scenario (RFC 8868):
` + metricHelp(true) + `
Every negotiated track must carry media: one that delivered nothing
fails an implicit packets_received check, unless an expect entry on
packets_received selects it.

Ctrl-C stops the run early and still writes a (partial) report.
Exit code: 0 every check passed, 1 a check failed or the run broke,
2 unusable input (nothing is run).`,
		Example: `  rtclab run
  rtclab run quickstart-p2p --out /tmp/lab
  rtclab run my-network.yaml --clock real`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if clock != runner.ClockVirtual && clock != runner.ClockReal {
				return usagef("--clock %q: allowed values are virtual, real%s", clock, yamldecode.DidYouMean(clock, []string{runner.ClockVirtual, runner.ClockReal}))
			}
			if clock == runner.ClockVirtual && env.Bubble == nil {
				return usagef("--clock virtual is not available in this build; use --clock real")
			}
			if cmd.Flags().Changed("seed") && seed < 1 {
				return usagef("--seed %d: must be >= 1 (as for rtclab matrix)", seed)
			}
			if quality {
				if err := needFFmpeg(env); err != nil {
					return err
				}
			}
			// `rtclab run --pcap my.yaml` takes the scenario for the
			// folder and ran the quickstart, to fail at its first capture.
			for _, f := range []struct{ name, dir string }{{"--pcap", pcap}, {"--log", rtpLog}} {
				if st, err := os.Stat(f.dir); f.dir != "" && err == nil && !st.IsDir() {
					return usagef("%s %s: is a file; %s takes the folder to write into (rtclab run %s DIR SCENARIO ...)", f.name, f.dir, f.name, f.name)
				}
			}
			if len(args) == 0 {
				args = []string{scenarios.DefaultScenario}
			}
			// Load everything first: bad input runs nothing.
			var list []*scenarios.Scenario
			var errs []error
			for _, a := range args {
				refs, err := expandArg(a)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				for _, ref := range refs {
					s, err := scenarios.Load(ref)
					if err != nil {
						errs = append(errs, err)
						continue
					}
					if cmd.Flags().Changed("seed") {
						s.Seed = seed
					}
					list = append(list, s)
				}
			}
			if len(errs) > 0 {
				return &UsageError{Err: errors.Join(errs...)}
			}
			sh, err := shard.Parse(shardFlag)
			if err != nil {
				return usagef("--shard: %w", err)
			}
			all := list
			list = shardOf(list, sh)
			multi := len(list) > 1 || sh.Active() // a shard's layout is always a set's
			// Claim a folder no other run can share before running anything.
			tool := env.tool()
			var od *outDir
			if out == "" {
				od, err = claimDefaultOut(defaultOutRoot, "", env.now(), tool)
			} else {
				od, err = claimOut(out, overwrite, tool)
			}
			if err != nil {
				return err
			}
			// A capture or log folder inside the output is rtclab's too.
			for _, d := range []string{pcap, rtpLog} {
				if rel, err := filepath.Rel(od.path, d); d != "" && err == nil && filepath.IsLocal(rel) {
					if err := od.record(strings.Split(filepath.ToSlash(rel), "/")[0]); err != nil {
						return err
					}
				}
			}
			env.onStop("writing the partial report")
			set := &setSummary{env: env, out: od, list: list, start: time.Now()}
			sum := runJSON{Verdict: "pass", Tool: env.build}
			failed := false
			for _, s := range list {
				rc := runConfig{dir: od.path, clock: clock, pcapDir: pcap, logDir: rtpLog, quality: quality, verbose: verbose, record: od.record, text: !asJSON}
				if multi {
					if rc.dir, err = od.sub(s.Name); err != nil {
						return err
					}
					rc.record = func(...string) error { return nil } // the sub-folder is recorded whole
					sub := filepath.Base(rc.dir)
					if pcap != "" {
						rc.pcapDir = filepath.Join(pcap, sub)
					}
					if rtpLog != "" {
						rc.logDir = filepath.Join(rtpLog, sub)
					}
				}
				rep, ok, err := runOne(cmd.Context(), env, s, rc)
				if err != nil {
					return err
				}
				if ok && requireCk && len(s.Expect) == 0 {
					fmt.Fprintf(env.Stderr, "rtclab: %s declares no checks (no expect entries), and --require-checks is set\n", s.Name)
					ok = false
				}
				sum.add(rep, rc.dir, ok)
				failed = failed || !ok
				if multi {
					if err := set.add(rep, rc.dir); err != nil {
						return err
					}
				}
				if env.Interrupt.Load() {
					failed = true
					break
				}
			}
			if multi {
				if err := set.finish(!asJSON); err != nil {
					return err
				}
			}
			if sh.Active() {
				if err := writeRunShard(od, sh, all, set.dirs); err != nil {
					return err
				}
			}
			if err := od.done(); err != nil {
				return err
			}
			if multi {
				sum.Summary = filepath.Join(od.path, "summary.json")
			}
			if failed {
				sum.Verdict = "fail"
			}
			if asJSON {
				if err := writeJSON(env, sum); err != nil {
					return err
				}
			}
			if failed {
				return &exitError{code: ExitFail}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory, new or empty (default a new rtclab-out/<timestamp>[-N])")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "let --out name a folder an earlier rtclab run wrote into: what that run\nwrote is removed first (anything else there stays)")
	cmd.Flags().StringVar(&clock, "clock", runner.ClockVirtual, "virtual (synctest bubble, fast, repeatable) or real (wall clock)")
	cmd.Flags().StringVar(&pcap, "pcap", "", "write a pcap per host (HOST.pcap) into this directory; open with\nwireshark or tshark -o rtp.heuristic_rtp:TRUE")
	cmd.Flags().StringVar(&rtpLog, "log", "", "write the per-packet log of RFC 8868 section 3.1 (FLOW.send.tsv, FLOW.recv.tsv)\nof every media and audio flow into this directory (flows topology)")
	cmd.Flags().BoolVar(&quality, "quality", false, "decode the received video with ffmpeg and compare it frame by frame\nwith the source clip (PSNR, SSIM); written into the report")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log what the stack does to stderr")
	cmd.Flags().Int64Var(&seed, "seed", 0, "seed of the emulated network's random choices (overrides each scenario's seed;\nrecorded in the report)")
	cmd.Flags().BoolVar(&requireCk, "require-checks", false, "fail a scenario that has no checks (for CI: a run that checks nothing proves nothing)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON summary on stdout (verdict, checks, report paths) instead of the text report")
	_ = cmd.RegisterFlagCompletionFunc("clock", fixedValues(runner.ClockVirtual, runner.ClockReal))
	cmd.ValidArgsFunction = completeScenarios
	cmd.Flags().StringVar(&shardFlag, "shard", "", "I/N: run only the scenarios whose place in the list mod N is I\n(merge the shards with 'rtclab merge')")
	return cmd
}

// runConfig is how one scenario is run.
type runConfig struct {
	dir, clock, pcapDir string
	logDir              string
	quality, verbose    bool
	// text prints the text report on stdout (not with --json).
	text bool
	// record lists names created in dir, for --overwrite to clear later.
	record func(names ...string) error
}

// Names of the event log: written under eventsPartial while the run goes
// on (whole JSON lines, by the run's one recorder), renamed when it ends.
const (
	eventsFile    = "events.jsonl"
	eventsPartial = "events.jsonl.partial"
)

// runOne runs one scenario into dir, a folder this run owns, and reports
// whether it passed. An error means the outputs could not be written.
func runOne(ctx context.Context, env *Env, s *scenarios.Scenario, rc runConfig) (*reports.Report, bool, error) {
	dir, clock, verbose := rc.dir, rc.clock, rc.verbose
	if s.Kernel() {
		clock = runner.ClockReal // namespaces and real sockets: the wall clock
	}
	if err := rc.record(eventsPartial, eventsFile); err != nil {
		return nil, false, err
	}
	partial := filepath.Join(dir, eventsPartial)
	events, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("events file: %w", err)
	}
	defer events.Close()
	env.info("running %s (%s, %v of scenario time, %s clock, seed %d) -> %s\n",
		s.Name, s.Topology, s.Duration.Duration, clock, s.Seed, dir)
	opt := runner.Options{
		Clock:      clock,
		Events:     events,
		Interrupt:  env.Interrupt,
		Log:        logger(env.Stderr, verbose),
		Tool:       env.tool(),
		CaptureDir: rc.pcapDir,
		RTPLogDir:  rc.logDir,
	}
	if env.progress() {
		opt.Progress = func(elapsed, total time.Duration) {
			fmt.Fprintf(env.Stderr, "\r  %s: %4.0fs / %.0fs", s.Name, elapsed.Seconds(), total.Seconds())
		}
	}
	if rc.quality {
		opt.Media = &runner.MediaCapture{}
	}
	var rep *reports.Report
	var runErr error
	wallStart := time.Now()
	if ctx == nil {
		ctx = context.Background()
	}
	if clock == runner.ClockVirtual {
		env.Bubble(func() { rep, runErr = runner.Run(context.Background(), s, opt) })
		rep.StartedAt = wallStart.UTC().Format(time.RFC3339)
		rep.WallSeconds = float64(time.Since(wallStart).Milliseconds()) / 1000
	} else {
		rep, runErr = runner.Run(ctx, s, opt)
	}
	if opt.Progress != nil {
		fmt.Fprintln(env.Stderr) // end the progress line
	}
	if runErr != nil {
		fmt.Fprintf(env.Stderr, "run stopped early: %v (the report is partial)\n", runErr)
	}
	if opt.Media != nil {
		// ffmpeg is a real process: it runs here, outside the bubble.
		env.info("measuring PSNR/SSIM of %d received video stream(s) with ffmpeg\n", len(opt.Media.Streams))
		if _, err := runner.MeasureQuality(ctx, opt.Media, rep, filepath.Join(dir, "quality")); err != nil {
			// The run's measurements stand without it: warn, keep the report.
			fmt.Fprintf(env.Stderr, "rtclab: PSNR/SSIM not measured: %v\n", err)
		}
	}
	if err := events.Close(); err != nil {
		return nil, false, fmt.Errorf("events file: %w", err)
	}
	if err := os.Rename(partial, filepath.Join(dir, eventsFile)); err != nil {
		return nil, false, fmt.Errorf("events file: %w", err)
	}
	b, expect := env.build, len(s.Expect)
	rep.ToolBuild, rep.Scenario.Expectations = &b, &expect
	if err := rc.record(reports.JSONFile, reports.HTMLFile, reports.JUnitFile, "quality"); err != nil {
		return nil, false, err
	}
	files, err := reports.Write(dir, rep)
	for _, f := range files {
		if err := rc.record(filepath.Base(f)); err != nil {
			return nil, false, err
		}
	}
	if err != nil {
		return nil, false, err
	}
	if rc.text {
		if err := reports.WriteText(env.Stdout, rep); err != nil {
			return nil, false, err
		}
		fmt.Fprintf(env.Stdout, "\nreport: %s\n", filepath.Join(dir, "report.html"))
	} else {
		// The one line a log keeps of a run whose result went to stdout.
		env.info("%s %s: %d of %d checks passed -> %s\n", strings.ToUpper(rep.Verdict), s.Name, passed(rep), len(rep.Checks), dir)
	}
	if verbose {
		for _, f := range files {
			fmt.Fprintf(env.Stderr, "wrote %s\n", f)
		}
	}
	return rep, rep.Verdict == "pass" && runErr == nil, nil
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
