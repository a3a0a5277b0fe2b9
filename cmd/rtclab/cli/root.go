package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/yamldecode"
)

// Exit codes of every rtclab command.
const (
	ExitPass  = 0 // everything ran and every check passed
	ExitFail  = 1 // it ran, and a check failed (or the run broke half-way)
	ExitUsage = 2 // unusable input: bad flags, bad scenario, missing file
)

// Env is everything a command touches outside its own memory, injected so
// whole CLI runs are testable in-process.
type Env struct {
	// Stdout receives reports and summaries.
	Stdout io.Writer
	// Stderr receives progress and logs.
	Stderr io.Writer
	// Bubble runs f inside a testing/synctest bubble (virtual time) and
	// returns when f and every goroutine it started have finished. Nil means
	// virtual time is unavailable and --clock virtual is refused.
	Bubble func(f func())
	// Interrupt is set (by a signal handler, or a test) when the user asks
	// the run to stop; long work polls it and stops cleanly, keeping what it
	// measured so far. May be nil.
	Interrupt *atomic.Bool
	// Version is the version printed by `rtclab version` and written into
	// reports; empty means the module version from the build information.
	Version string
	// StopNote, when not nil, is set by the running command to what it
	// does on Ctrl-C ("writing the partial report"); the signal handler
	// prints it. May be nil.
	StopNote *atomic.Pointer[string]

	// LookPath finds an external program (ffmpeg); nil means
	// exec.LookPath.
	LookPath func(string) (string, error)

	build reports.ToolBuild
	quiet bool
	// Now is the wall clock naming default output folders; nil means
	// time.Now.
	Now func() time.Time
	// Executable is the path of the rtclab binary, for commands that run
	// their shards in processes of their own (sweep --procs); empty means
	// they run in this process.
	Executable string
}

// tool names the program in reports: "rtclab VERSION (rev ...)".
func (e *Env) tool() string { return "rtclab " + describeBuild(e.build) }

// onStop records what the command does when the user presses Ctrl-C.
func (e *Env) onStop(note string) {
	if e.StopNote != nil {
		e.StopNote.Store(&note)
	}
}

// progress reports whether carriage-return progress lines go to stderr:
// only on a terminal, and not with --quiet.
func (e *Env) progress() bool { return !e.quiet && isTerminal(e.Stderr) }

// info prints a line of what is going on to stderr, unless --quiet.
func (e *Env) info(format string, args ...any) {
	if !e.quiet {
		fmt.Fprintf(e.Stderr, format, args...)
	}
}

func (e *Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// UsageError marks unusable input; the command exits with ExitUsage.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usagef returns a *UsageError with a formatted message.
func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// exitError carries a non-usage exit code (ExitFail) without printing more.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs the rtclab command line with args (without the program name)
// and returns the process exit code.
func Main(args []string, env Env) int {
	env.build = build(env.Version)
	env.Version = env.build.Version
	if env.Interrupt == nil {
		env.Interrupt = new(atomic.Bool)
	}
	root := newRoot(&env)
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.Execute()
	if err == nil {
		return ExitPass
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(env.Stderr, "rtclab: %v\n", err)
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitFail
}

// usageArgs makes every argument check of cmd and its subcommands a usage
// error (exit 2), as cobra's own are plain errors.
func usageArgs(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				var ue *UsageError
				if errors.As(err, &ue) {
					return err
				}
				return usagef("%w (see '%s --help')", err, c.CommandPath())
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		usageArgs(c)
	}
}

// refuseUnknown makes every command that only groups others (rtclab,
// rtclab netem) refuse a name it does not have as a usage error, with the
// nearest name by edit distance. Without this cobra
// exits 1 for an unknown command, and 0 with the help for an unknown
// subcommand.
func refuseUnknown(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if c.HasParent() {
				msg += fmt.Sprintf(" for %q", c.CommandPath())
			}
			msg += yamldecode.DidYouMean(args[0], commandNames(c))
			return usagef("%s (commands: %s; see '%s --help')", msg, strings.Join(commandNames(c), ", "), c.CommandPath())
		}
	}
	for _, c := range cmd.Commands() {
		refuseUnknown(c)
	}
}

func commandNames(parent *cobra.Command) []string {
	var names []string
	for _, c := range parent.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return names
}

func newRoot(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "rtclab",
		Short: "rtclab is a WebRTC network lab",
		Long: `rtclab spins up a real WebRTC stack (signaling, STUN/TURN, an SFU and
simulated pion clients) on an emulated network with the NAT types, loss,
delay and bandwidth a scenario asks for, measures what happens, and writes a
report with plots.

Exit codes: 0 every check passed, 1 a check failed, 2 unusable input.`,
		Version:       describeBuild(env.build),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("rtclab {{.Version}}\n")
	root.PersistentFlags().BoolVarP(&env.quiet, "quiet", "q", false, "print only the result and errors: no progress or status lines on stderr")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// Main prefixes "rtclab: "; the hint names the command.
		return &UsageError{Err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(
		newRunCmd(env),
		newBenchCmd(env),
		newNetemCmd(env),
		newServeCmd(env),
		newDiagnoseCmd(env),
		newReproduceCmd(env),
		newMatrixCmd(env),
		newVerifyCmd(env),
		newConformCmd(env),
		newVersionCmd(env),
		newShowCmd(env),
		newSweepCmd(env),
		newMergeCmd(env),
		newK8sCmd(env),
		newCompareCmd(env),
	)
	root.InitDefaultCompletionCmd()
	refuseUnknown(root)
	usageArgs(root)
	return root
}

// logger returns a logger writing to w at the given level.
func logger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// isTerminal reports whether w is a terminal: progress lines (rewritten in
// place with \r) go only there, never into a file or a pipe.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
