package netem

import (
	"fmt"
	"math"
	"time"
)

// Built is a running network on some backend: this package's in-process
// Network, or the kernel backend's (package netem/kernel).
type Built interface {
	Host(name string) (*Host, bool)
	Close() error
}

// Builder builds the network a Config declares on one backend.
type Builder func(Config) (Built, error)

func inProcess(cfg Config) (Built, error) { return New(cfg) }

// Real-time slack of the fidelity checks on a backend that runs in real
// time (the kernel's): a packet there also spends time in the kernel, in
// the TUN read and write and in waking the link's goroutine, which the
// configured delay does not include, and a sleeping sender is late by the
// scheduler's latency. So a measured mean delay may exceed the configured
// one by RealDelaySlack (never fall short of it by more than the virtual
// time tolerance), and a delay's standard deviation gets the same extra
// allowance on top of its ±10 %.
const RealDelaySlack = 3 * time.Millisecond

// CheckFidelityOn measures a real-time backend with the part of
// CheckFidelity's suite that real time allows in about a minute: random
// loss, delay, uniform jitter and a rate limit with its queue. Loss and
// rate keep their virtual-time tolerances; delays get RealDelaySlack.
func CheckFidelityOn(seed int64, build Builder) ([]FidelityResult, error) {
	ms := time.Millisecond
	cases := []fidelityCase{
		{name: "random loss 3%", imp: Impairment{Loss: 0.03}, packets: 10000, size: 200, interval: ms,
			judge: judgeLoss(0.03)},
		{name: "delay 40ms", imp: Impairment{Delay: 40 * ms}, packets: 2000, size: 200, interval: ms,
			judge: judgeDelayReal(40, 0, "")},
		{name: "delay 50ms, uniform jitter 10ms", imp: Impairment{Delay: 50 * ms, Jitter: 10 * ms, Reorder: true}, packets: 10000, size: 200, interval: ms,
			judge: judgeDelayReal(50, 10/math.Sqrt(3), JitterUniform)},
		rateCase(Impairment{Rate: 1_000_000, QueueDelay: 100 * ms}),
	}
	var out []FidelityResult
	for _, c := range cases {
		c.build = build
		m, err := probe(seed, c)
		if err != nil {
			return out, fmt.Errorf("fidelity %s: %w", c.name, err)
		}
		out = append(out, c.judge(c, m)...)
	}
	return out, nil
}

// CheckLinkOn is CheckLink on another backend (real time: it takes as
// long as the probes last).
func CheckLinkOn(seed int64, imp Impairment, build Builder) ([]FidelityResult, error) {
	return checkLink(seed, imp, build)
}

// judgeDelayReal is judgeDelay with the real-time slack: the mean may lie
// from 1 ms below to RealDelaySlack above the configured delay.
func judgeDelayReal(delayMS, sdMS float64, dist string) func(fidelityCase, probeMeasure) []FidelityResult {
	slack := float64(RealDelaySlack) / float64(time.Millisecond)
	return func(c fidelityCase, m probeMeasure) []FidelityResult {
		mean, sd := meanSD(delays(m))
		r := result(c, "mean delay ms", delayMS, mean, slack, fmt.Sprintf("-1 .. +%g ms: real time adds the kernel's and the scheduler's latency", slack))
		r.Pass = mean >= delayMS-1 && mean <= delayMS+slack
		out := []FidelityResult{r}
		if dist != "" {
			tol := sdMS*0.1 + slack/2
			out = append(out, result(c, "delay std dev ms", sdMS, sd, tol,
				fmt.Sprintf("±10%% of the %s distribution's std dev, +%g ms of real-time noise", dist, slack/2)))
		}
		return out
	}
}
