package bubble

import (
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"testing/synctest"
)

// memoryLimit lets the collector step in on its own only past 4 GiB.
const memoryLimit = 4 << 30

// setup is the process-wide state Run changes; runs at once (matrix
// workers) share it, and the last to end restores it.
var setup struct {
	sync.Mutex
	users            int
	procs, gcPercent int
	memLimit         int64
}

// Run runs f inside a synctest bubble under t, with one P and the
// automatic collector off while any Run is active.
func Run(t *testing.T, f func()) {
	acquire()
	defer release()
	synctest.Test(t, func(*testing.T) { f() })
}

func acquire() {
	setup.Lock()
	defer setup.Unlock()
	setup.users++
	if setup.users > 1 {
		return
	}
	setup.procs = runtime.GOMAXPROCS(1)
	setup.gcPercent = debug.SetGCPercent(-1)
	setup.memLimit = debug.SetMemoryLimit(memoryLimit)
	runtime.GC()
}

func release() {
	setup.Lock()
	defer setup.Unlock()
	setup.users--
	if setup.users > 0 {
		return
	}
	runtime.GOMAXPROCS(setup.procs)
	debug.SetGCPercent(setup.gcPercent)
	debug.SetMemoryLimit(setup.memLimit)
}
