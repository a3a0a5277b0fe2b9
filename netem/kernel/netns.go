package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every namespace this package creates.
const Prefix = "rtclabk-"

// netnsDir is where `ip netns` keeps named namespaces.
const netnsDir = "/run/netns"

// ErrNoPrivilege is returned when the backend cannot run here: not root,
// or `ip`/`nft` missing, or /dev/net/tun absent.
var ErrNoPrivilege = errors.New("kernel backend unavailable")

var runCounter atomic.Int64

// newRunPrefix returns this run's unique name prefix.
func newRunPrefix() string {
	return fmt.Sprintf("%s%d-%d-", Prefix, os.Getpid(), runCounter.Add(1))
}

// Check reports why the kernel backend cannot run here, or nil.
func Check() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: network namespaces need root", ErrNoPrivilege)
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%w: %s is not installed (Debian: iproute2, nftables)", ErrNoPrivilege, bin)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("%w: /dev/net/tun: %w", ErrNoPrivilege, err)
	}
	return nil
}

// ip runs the ip command.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// addNamespace creates the named namespace with its loopback up and
// IPv6 off (the emulated network is IPv4, as the in-process one).
func addNamespace(name string) error {
	if err := ip("netns", "add", name); err != nil {
		return err
	}
	if err := ip("-n", name, "link", "set", "lo", "up"); err != nil {
		return err
	}
	return sysctl(name, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
		"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
}

// sysctl sets kernel parameters inside a namespace.
func sysctl(ns string, kv ...string) error {
	args := append([]string{"netns", "exec", ns, "sysctl", "-qw"}, kv...)
	return ip(args...)
}

// deleteNamespace kills what still runs inside the namespace, then
// deletes it (its interfaces and nftables tables go with it).
func deleteNamespace(name string) error {
	if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
	return ip("netns", "del", name)
}

// CleanStale deletes the namespaces of rtclab processes that no longer
// run (a run killed with SIGKILL leaves its namespaces behind) and returns
// their names.
func CleanStale() ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var gone []string
	var errs []error
	for _, e := range entries {
		pid, ok := ownerPID(e.Name())
		if !ok || pid == os.Getpid() || alive(pid) {
			continue
		}
		if err := deleteNamespace(e.Name()); err != nil {
			errs = append(errs, err)
			continue
		}
		gone = append(gone, e.Name())
	}
	return gone, errors.Join(errs...)
}

// ownerPID parses the PID out of a name this package made.
func ownerPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return 0, false
	}
	f, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(f)
	return pid, err == nil && pid > 0
}

func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// inNamespace runs fn on a fresh OS thread that has entered the named
// network namespace. The thread is never handed back to Go's scheduler
// (the goroutine exits while locked, which ends the thread), so no other
// goroutine ever runs in the namespace; what fn creates (a socket, a TUN
// device) keeps the namespace it was made in.
func inNamespace(name string, fn func() error) error {
	f, err := os.Open(filepath.Join(netnsDir, name))
	if err != nil {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	defer f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: see above.
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// command returns `ip netns exec ns name args...`.
func command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
}
