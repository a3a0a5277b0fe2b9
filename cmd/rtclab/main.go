// Command rtclab is a WebRTC network lab; see the README or `rtclab --help`.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/rtclab/rtclab/bubble"
	"github.com/rtclab/rtclab/cmd/rtclab/cli"
)

// version may be set with -ldflags "-X main.version=v1.2.3"; empty means
// the module version from the build information.
var version string

// main hosts the CLI inside testing.Main so that `--clock virtual` can run
// the stack in a testing/synctest bubble, which needs a *testing.T (checked
// to work in a normal binary with Go 1.26). The single test runs the whole
// CLI and exits with its code, so testing's own summary never prints.
func main() {
	env := cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Interrupt: new(atomic.Bool), Version: version, StopNote: new(atomic.Pointer[string])}
	if exe, err := os.Executable(); err == nil {
		env.Executable = exe
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		env.Interrupt.Store(true)
		note := "stopping"
		if n := env.StopNote.Load(); n != nil {
			note = *n
		}
		fmt.Fprintf(os.Stderr, "\nrtclab: %s (Ctrl-C again to quit at once)\n", note)
		<-signals
		os.Exit(130)
	}()
	args := os.Args[1:]
	_ = flag.CommandLine.Parse(nil) // keep testing from parsing our arguments
	testing.Main(matchAll, []testing.InternalTest{{
		Name: "rtclab",
		F: func(t *testing.T) {
			env.Bubble = func(f func()) { bubble.Run(t, f) }
			os.Exit(cli.Main(args, env))
		},
	}}, nil, nil)
}

func matchAll(_, _ string) (bool, error) { return true, nil }
