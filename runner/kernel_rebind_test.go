package runner

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
	"github.com/rtclab/rtclab/verify"
)

// rebindCall is TestFaultICERestartAndRebind's rebinding through the SFU
// on a backend: bob's NAT drops its mappings 4 s into a 12 s call.
func rebindCall(t *testing.T, backend string) *scenarios.Scenario {
	t.Helper()
	src := fmt.Sprintf(`name: rebind-%[1]s
topology: sfu
duration: 12s
backend: %[1]s
participants:
  - name: alice
    nat: port-restricted-cone
    publish: [audio, video]
  - name: bob
    nat: port-restricted-cone
    publish: [audio, video]
    uplink: {delay: 15ms}
    downlink: {delay: 15ms}
timeline:
  - {at: 4s, rebind: bob}
expect:
  - {metric: recovery_ms, max: 5000}
`, backend)
	s, err := scenarios.Parse("rebind.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRebindOnBothBackends runs the same rebinding on the in-process
// backend (a new inside port under each of bob's sockets) and on the
// kernel backend (bob's nftables NAT moves to a new conntrack zone and
// port mapping) and checks what should agree: the rebinding is reported
// for at least one socket, bob's media to him goes silent and his client
// restarts ICE, every stream recovers within 5 s, bob ends connected on
// the same candidate types, and on the wire (the SFU host's capture)
// bob's public address reaches the SFU from ports in the call's last
// 2 s that it never used in its first 3 s. On the kernel backend a
// rebinding that left the NAT alone fails that last check (and the
// silence/ICE restart). About 14 s (the kernel call is real time).
func TestRebindOnBothBackends(t *testing.T) {
	if err := kernel.Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
	type outcome struct {
		pair      string
		connected bool
	}
	got := map[string]outcome{}
	for _, backend := range []string{scenarios.BackendInProcess, scenarios.BackendKernel} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			var rep *reports.Report
			var err error
			if backend == scenarios.BackendKernel {
				rep, err = Run(context.Background(), rebindCall(t, backend), Options{Clock: ClockReal, CaptureDir: dir})
			} else {
				rep, err = runVirtual(t, rebindCall(t, backend), Options{CaptureDir: dir})
			}
			if err != nil {
				t.Fatal(err)
			}
			logFaults(t, rep)
			if ev := events(rep, "bob", "rebound"); len(ev) != 1 || strings.Contains(ev[0], "of 0 sockets") {
				t.Errorf("rebound events %v, want one with at least one socket", ev)
			}
			if len(events(rep, "bob", "media-silent")) == 0 || len(events(rep, "bob", "ice-restart")) == 0 {
				t.Error("bob did not restart ICE after the rebinding")
			}
			checkRecovered(t, rep, 0, 5000)
			for _, p := range rep.Participants {
				if p.Name == "bob" && p.SelectedPair != nil {
					got[backend] = outcome{pair: p.SelectedPair.Local + "/" + p.SelectedPair.Remote, connected: p.Connected}
				}
			}
			// bob is participant 1: the same public address on both
			// backends (netem's address plan).
			bobPublic, _ := netip.AddrFromSlice(netem.Addresses{}.PublicIP(1).To4())
			early, late := portsTo(t, filepath.Join(dir, "sfu.pcap"), bobPublic, 3*time.Second, 2*time.Second)
			if len(early) == 0 || len(late) == 0 {
				t.Fatalf("bob's ports at the SFU: first 3 s %v, last 2 s %v", early, late)
			}
			for p := range late {
				if early[p] {
					t.Errorf("bob (%s) still reaches the SFU from port %d after the rebinding (first 3 s %v, last 2 s %v)", bobPublic, p, early, late)
				}
			}
		})
	}
	if a, b := got[scenarios.BackendInProcess], got[scenarios.BackendKernel]; a != b || !a.connected {
		t.Errorf("bob's end state: in-process %+v, kernel %+v", a, b)
	}
}

// portsTo returns the UDP source ports from src in a capture's first
// `first` and last `last`.
func portsTo(t *testing.T, pcap string, src netip.Addr, first, last time.Duration) (early, late map[uint16]bool) {
	t.Helper()
	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ds, err := verify.ReadPcap(f)
	if err != nil {
		t.Fatal(err)
	}
	early, late = map[uint16]bool{}, map[uint16]bool{}
	if len(ds) == 0 {
		return early, late
	}
	t0, t1 := ds[0].At, ds[len(ds)-1].At
	for _, d := range ds {
		if d.Src.Addr() != src {
			continue
		}
		if d.At.Before(t0.Add(first)) {
			early[d.Src.Port()] = true
		}
		if d.At.After(t1.Add(-last)) {
			late[d.Src.Port()] = true
		}
	}
	return early, late
}
