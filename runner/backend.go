package runner

import (
	"fmt"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/scenarios"
)

// newNetwork builds the network of s on its backend.
func (r *run) newNetwork(cfg netem.Config) (netem.Backend, error) {
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
