package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
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
	// Version is printed by --version and written into reports.
	Version string
	// Now is the wall clock naming default output folders; nil means
	// time.Now.
	Now func() time.Time
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
	if env.Version == "" {
		env.Version = "dev"
	}
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

func newRoot(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "rtclab",
		Short: "rtclab is a WebRTC network lab",
		Long: `rtclab spins up a real WebRTC stack (signaling, STUN/TURN, an SFU and
simulated pion clients) on an emulated network with the NAT types, loss,
delay and bandwidth a scenario asks for, measures what happens, and writes a
report with plots.

Exit codes: 0 every check passed, 1 a check failed, 2 unusable input.`,
		Version:       env.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Err: fmt.Errorf("%s: %w (see '%s --help')", c.CommandPath(), err, c.CommandPath())}
	})
	root.AddCommand(
		newRunCmd(env),
		newBenchCmd(env),
		newNetemCmd(env),
		newServeCmd(env),
		newDiagnoseCmd(env),
		newMatrixCmd(env),
		newVerifyCmd(env),
		newConformCmd(env),
	)
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
