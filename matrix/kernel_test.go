package matrix

import (
	"context"
	"testing"
	"time"

	"github.com/rtclab/rtclab/internal/realpeer"
	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/scenarios"
)

func netemNAT(name string) netem.NAT { return netem.NAT(name) }

// relayed reports whether a path goes through the TURN server.
func relayed(p Path) bool { return p == Relay || p == RelayTCP }

// TestKernelGridMatchesInProcess runs the 7 NAT presets against each
// other with STUN and TURN on the kernel backend (namespaces, nftables
// NATs, real time) and on the in-process one (vnet, virtual time): every
// cell connects or fails, and is relayed or direct, alike on both; and
// the kernel grid alone meets the RFC expectations (known pion
// behaviours allowed), so a NAT ruleset that lets too much in (a direct
// path where the RFC model needs the relay) or too little fails it.
// Needs root; about 75 s of real time with 6 cells at once.
func TestKernelGridMatchesInProcess(t *testing.T) {
	if err := kernel.Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
	if testing.Short() {
		t.Skip("49 cells in real time")
	}
	p := DefaultPlan()
	p.ICE = []ICEConfig{STUNTURN}
	p.Duration = 6 * time.Second // real time: room for a slow DTLS handshake
	in, err := Run(context.Background(), p, Options{Bubble: bubble(t), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	p.Backend = scenarios.BackendKernel
	kr, err := Run(context.Background(), p, Options{Workers: 6})
	if err != nil {
		t.Fatal(err)
	}
	if kr.Clock != "real" || kr.Backend != scenarios.BackendKernel || len(kr.Cells) != 49 {
		t.Fatalf("kernel grid: clock %q, backend %q, %d cells", kr.Clock, kr.Backend, len(kr.Cells))
	}
	agree := func(k, v CellResult) bool { return k.Connected == v.Connected && relayed(k.Path) == relayed(v.Path) }
	again := 0
	for i, k := range kr.Cells {
		v := in.Cells[i]
		if k.Row != v.Row || k.Col != v.Col {
			t.Fatalf("cell %d: kernel %s -> %s, in-process %s -> %s", i, k.Row, k.Col, v.Row, v.Col)
		}
		if !agree(k, v) && k.Error == "" {
			// Real time on a shared 2-core machine: a DTLS handshake
			// can outlast the cell. A cell that disagrees runs once
			// more, and counts only if it disagrees again.
			again++
			t.Logf("%s -> %s: kernel %s, in-process %s; running it again", k.Row, k.Col, k.Path, v.Path)
			k = runCell(p, Cell{ICE: STUNTURN, Row: PresetNAT(netemNAT(k.Row)), Col: PresetNAT(netemNAT(k.Col))}, nil)
		}
		if !agree(k, v) {
			t.Errorf("%s -> %s: kernel %s, in-process %s", k.Row, k.Col, k.Path, v.Path)
		}
		if k.Status == StatusError {
			t.Errorf("%s -> %s on the kernel backend: %s", k.Row, k.Col, k.Error)
		}
	}
	if again > 5 {
		t.Errorf("%d of 49 cells needed a second run", again)
	}
	t.Logf("kernel: %s", kr.Headline())
}

// TestKernelMDNSLANMatchesInProcess runs the mDNS LAN slice (both peers
// on one LAN behind one NAT of each preset; .local names resolved by
// multicast, or stripped by the signaling server) on both backends: every
// cell connects, and relays or goes direct, alike. It fails when the
// kernel's LAN, its multicast or its hairpinning is missing: without
// hairpinning the stripped port-restricted and double-NAT cells relay.
// Needs root; about 45 s.
func TestKernelMDNSLANMatchesInProcess(t *testing.T) {
	if err := kernel.Check(); err != nil {
		realpeer.Unavailable(t, err.Error())
	}
	if testing.Short() {
		t.Skip("14 cells in real time")
	}
	p := DefaultPlan()
	p.ICE = []ICEConfig{MDNSLAN, MDNSLANStrip}
	p.Duration = 6 * time.Second // real time: room for a slow DTLS handshake
	in, err := Run(context.Background(), p, Options{Bubble: bubble(t), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	p.Backend = scenarios.BackendKernel
	kr, err := Run(context.Background(), p, Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(kr.Cells) != 14 || len(in.Cells) != 14 {
		t.Fatalf("%d kernel cells, %d in-process, want 14", len(kr.Cells), len(in.Cells))
	}
	agree := func(k, v CellResult) bool {
		return k.Status != StatusError && k.Connected == v.Connected && relayed(k.Path) == relayed(v.Path)
	}
	for i, k := range kr.Cells {
		v := in.Cells[i]
		if !agree(k, v) && k.Error == "" {
			// As in the grid: a cell that disagrees in real time on a
			// loaded machine runs once more.
			t.Logf("%s %s -> %s: kernel %s, in-process %s; running it again", k.ICE, k.Row, k.Col, k.Path, v.Path)
			k = runCell(p, Cell{ICE: ICEConfig(k.ICE), Row: PresetNAT(netemNAT(k.Row)), Col: PresetNAT(netemNAT(k.Col))}, nil)
		}
		if !agree(k, v) {
			t.Errorf("%s %s -> %s: kernel %s %s, in-process %s", k.ICE, k.Row, k.Col, k.Path, k.Error, v.Path)
		}
	}
	t.Logf("kernel: %s", kr.Headline())
}
