package runner

import (
	"fmt"
	"log/slog"

	"github.com/rtclab/rtclab/netem"
	"github.com/rtclab/rtclab/netem/kernel"
	"github.com/rtclab/rtclab/scenarios"
)

// newNetwork builds the network of s on its backend.
func (r *run) newNetwork(cfg netem.Config) (netem.Backend, error) {
	nw, k, err := buildNetwork(r.s, r.opt.Clock, cfg, r.log)
	r.kernel = k
	return nw, err
}

// buildNetwork builds cfg on the backend s names; the kernel backend's
// network is also returned as itself (nil in-process).
func buildNetwork(s *scenarios.Scenario, clock string, cfg netem.Config, log *slog.Logger) (netem.Backend, *kernel.Network, error) {
	if !s.Kernel() {
		nw, err := netem.New(cfg)
		return nw, nil, err
	}
	if clock == ClockVirtual {
		return nil, nil, fmt.Errorf("backend %s runs in real time only (--clock real)", scenarios.BackendKernel)
	}
	nw, err := kernel.New(cfg, kernel.Options{Log: log})
	if err != nil {
		return nil, nil, err
	}
	return nw, nw, nil
}

// kernelName is the report's scenario.backend: "kernel", or "" in-process.
func kernelName(s *scenarios.Scenario) string {
	if s.Kernel() {
		return scenarios.BackendKernel
	}
	return ""
}
