package runner

import (
	"fmt"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/scenarios"
)

// network is what a run needs of its emulated network, on either backend
// (scenario field backend): netem's in-process network or the kernel's.
type network interface {
	Host(name string) (*netem.Host, bool)
	Hosts() []*netem.Host
	Close() error
}

// newNetwork builds the network of s on its backend.
func (r *run) newNetwork(cfg netem.Config) (network, error) {
	if !r.s.Kernel() {
		return netem.New(cfg)
	}
	if r.opt.Clock == ClockVirtual {
		return nil, fmt.Errorf("backend %s runs in real time only (--clock real)", scenarios.BackendKernel)
	}
	nw, err := kernel.New(cfg, kernel.Options{Log: r.log})
	if err != nil {
		return nil, err
	}
	r.kernel = nw
	return nw, nil
}

// kernelName is the report's scenario.backend: "kernel", or "" in-process.
func kernelName(s *scenarios.Scenario) string {
	if s.Kernel() {
		return scenarios.BackendKernel
	}
	return ""
}
