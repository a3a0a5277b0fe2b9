package runner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// lanCall: alice and bob on one LAN behind one port-restricted cone, p2p,
// their host candidates hidden behind mDNS names or not.
func lanCall(t *testing.T, backend string, mdns bool) *scenarios.Scenario {
	t.Helper()
	src := fmt.Sprintf(`name: lan-%[1]s
topology: p2p
duration: 4s
backend: %[1]s
participants:
  - name: alice
    nat: port-restricted-cone
    lan: home
    mdns: %[2]v
    publish: [audio]
  - name: bob
    nat: port-restricted-cone
    lan: home
    mdns: %[2]v
    publish: [audio]
`, backend, mdns)
	s, err := scenarios.Parse("lan.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLANOnBothBackends runs one call between two participants on one LAN
// behind one NAT, with and without mDNS host candidates, on both backends,
// and checks what should agree: both connect directly on the LAN (a local
// host candidate; the remote one host, or peer-reflexive when the other's
// check came before its .local name was resolved, which timing decides),
// the same private addresses (one /24 behind one NAT), the same
// mdns-resolved and mdns-unresolved counts. Without mDNS the in-process
// backend pairs host with host; in real time the remote candidate may be
// peer-reflexive there too (the other's check beat its signaled candidate:
// seen in make test), on the other's LAN address. On the kernel backend a LAN that was not shared (a
// NAT each) gives other addresses and a reflexive pair, and multicast that
// did not reach the other host leaves the names unresolved. About 12 s.
func TestLANOnBothBackends(t *testing.T) {
	if err := kernel.Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
	for _, mdns := range []bool{false, true} {
		t.Run(fmt.Sprintf("mdns=%v", mdns), func(t *testing.T) {
			type outcome struct {
				direct, addresses    string
				resolved, unresolved int
			}
			got := map[string]outcome{}
			for _, backend := range []string{scenarios.BackendInProcess, scenarios.BackendKernel} {
				var rep *reports.Report
				var err error
				if backend == scenarios.BackendKernel {
					rep, err = Run(context.Background(), lanCall(t, backend, mdns), Options{Clock: ClockReal})
				} else {
					rep, err = runVirtual(t, lanCall(t, backend, mdns), Options{})
				}
				if err != nil {
					t.Fatal(err)
				}
				var o outcome
				for _, p := range rep.Participants {
					if !p.Connected || p.SelectedPair == nil {
						t.Errorf("%s: %s did not connect", backend, p.Name)
						continue
					}
					sp := p.SelectedPair
					// Peer-reflexive is the other's host address learnt
					// from its check before its candidate arrived: with
					// mDNS (the name resolves later) and, in real time,
					// without (signaling is slower than the LAN).
					onLAN := strings.HasPrefix(sp.RemoteAddress, "10.0.1.")
					direct := sp.Local == "host" && onLAN && (sp.Remote == "host" || sp.Remote == "prflx")
					o.direct += fmt.Sprintf("%s:%v ", p.Name, direct)
					o.addresses += p.Address + " "
					if !mdns && backend == scenarios.BackendInProcess && (sp.Local != "host" || sp.Remote != "host") {
						t.Errorf("%s: %s's pair %s/%s, want host/host", backend, p.Name, sp.Local, sp.Remote)
					}
				}
				o.resolved = len(events(rep, "", "mdns-resolved"))
				o.unresolved = len(events(rep, "", "mdns-unresolved"))
				got[backend] = o
				t.Logf("%s: %+v", backend, o)
			}
			in, k := got[scenarios.BackendInProcess], got[scenarios.BackendKernel]
			if in != k {
				t.Errorf("in-process %+v, kernel %+v", in, k)
			}
			if want := "alice:true bob:true "; k.direct != want {
				t.Errorf("kernel: direct %q, want %q", k.direct, want)
			}
			if want := "10.0.1.2 10.0.1.3 "; k.addresses != want {
				t.Errorf("kernel: addresses %q, want %q (one LAN)", k.addresses, want)
			}
			if mdns && k.resolved == 0 {
				t.Error("no .local name resolved on the kernel backend")
			}
		})
	}
}
