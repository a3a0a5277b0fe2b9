package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/rtclab/rtclab/sweep"
)

// A virtual-time run holds its process to one core (package bubble pins
// GOMAXPROCS to 1 while a bubble runs, for repeatable runs), so cells in
// one process take turns on that core. To use every core, `rtclab sweep
// --procs N` starts N copies of the binary, each running one shard
// (--shard I/N) into a folder of its own, and merges their results
// exactly as `rtclab merge` does.

// shardsDir is the folder, inside a sweep's output, of its processes'
// shards (kept: each holds its shard's sweep.json and log).
const shardsDir = "shards"

// procChild is one shard process.
type procChild struct {
	cmd  *exec.Cmd
	dir  string
	log  *os.File
	err  error
	done bool
}

// procSweep runs the sweep as procs processes of env.Executable; childArgs
// is the sweep command line without --shard, --out, --procs.
func procSweep(env *Env, od *outDir, childArgs []string, procs int) (*sweep.Result, error) {
	if err := od.record(shardsDir); err != nil {
		return nil, err
	}
	children := make([]*procChild, procs)
	for i := range procs {
		dir := filepath.Join(od.path, shardsDir, fmt.Sprintf("shard-%d", i))
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("shards folder: %w", err)
		}
		log, err := os.Create(dir + ".log")
		if err != nil {
			return nil, fmt.Errorf("shard log: %w", err)
		}
		defer log.Close()
		args := append(append([]string{}, childArgs...), "--shard", fmt.Sprintf("%d/%d", i, procs), "--out", dir, "--workers", "1")
		cmd := exec.Command(env.Executable, args...)
		cmd.Stdout, cmd.Stderr = log, log
		// A process group of its own: Ctrl-C reaches this process only,
		// which passes it on once (a second one makes rtclab quit
		// without writing its report).
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		children[i] = &procChild{cmd: cmd, dir: dir, log: log}
	}
	for i, c := range children {
		if err := c.cmd.Start(); err != nil {
			for _, s := range children[:i] {
				_ = s.cmd.Process.Kill()
				_ = s.cmd.Wait()
			}
			return nil, fmt.Errorf("start shard %d: %w", i, err)
		}
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		left = procs
	)
	allDone := make(chan struct{})
	for i, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.cmd.Wait()
			mu.Lock()
			defer mu.Unlock()
			c.done, left = true, left-1
			var ee *exec.ExitError
			if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == ExitFail) {
				c.err = err
			}
			env.info("  shard %d/%d finished (%d running)\n", i, procs, left)
		}()
	}
	go func() { wg.Wait(); close(allDone) }()
	forwarded := false
	term := env.progress()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-allDone:
			if term {
				fmt.Fprintln(env.Stderr) // end the progress line
			}
			return mergeProcs(env, children)
		case <-tick.C:
			if term && n%10 == 0 {
				// The shards' checkpoints (sweep.json after each cell).
				done, total := 0, 0
				for _, c := range children {
					if r, err := sweep.ReadJSON(filepath.Join(c.dir, sweep.JSONFile)); err == nil {
						done += len(r.Cells) - r.NotRun
						total += len(r.Cells)
					}
				}
				fmt.Fprintf(env.Stderr, "\r  %d/%d cells", done, total)
			}
			if !forwarded && env.Interrupt.Load() {
				forwarded = true
				mu.Lock()
				for _, c := range children {
					if !c.done {
						_ = c.cmd.Process.Signal(os.Interrupt)
					}
				}
				mu.Unlock()
			}
		}
	}
}

// mergeProcs merges the shards the processes wrote.
func mergeProcs(env *Env, children []*procChild) (*sweep.Result, error) {
	var parts []*sweep.Result
	var errs []error
	for i, c := range children {
		r, err := sweep.ReadJSON(filepath.Join(c.dir, sweep.JSONFile))
		if err != nil {
			tail, _ := os.ReadFile(c.log.Name())
			if len(tail) > 2000 {
				tail = tail[len(tail)-2000:]
			}
			errs = append(errs, fmt.Errorf("shard %d (%v): no result; its log %s ends:\n%s", i, c.err, c.log.Name(), bytes.TrimSpace(tail)))
			continue
		}
		parts = append(parts, r)
	}
	if len(parts) == 0 {
		return nil, errors.Join(errs...)
	}
	for _, err := range errs {
		// The shards that ran stand; the cells of the others are not run.
		fmt.Fprintf(env.Stderr, "rtclab: %v\n", err)
	}
	return sweep.Merge(parts)
}

// sweepChildArgs rebuilds the command line of a sweep for its shard
// processes.
func sweepChildArgs(ref string, varies, metrics []string) []string {
	args := []string{"sweep", ref}
	for _, v := range varies {
		args = append(args, "--vary", v)
	}
	for _, m := range metrics {
		args = append(args, "--metric", m)
	}
	return args
}
