package netem

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Backend is a running network on one backend: this package's
// in-process Network, or the kernel backend's (package netem/kernel).
// The runner and the fidelity checks use either through it.
type Backend interface {
	// Host returns the named host (a server or a client).
	Host(name string) (*Host, bool)
	// Hosts returns every host, servers first, in declaration order.
	Hosts() []*Host
	// Close stops the network; close the programs using it first.
	Close() error
}

// Builder builds the network a Config declares on one backend.
type Builder func(Config) (Backend, error)

func inProcess(cfg Config) (Backend, error) { return New(cfg) }

// Real-time slack of the fidelity checks on a backend that runs in real
// time (the kernel's): a packet there also spends time in the kernel, in
// the TUN read and write and in waking the link's goroutine, which the
// configured delay does not include, and a sleeping sender is late by the
// scheduler's latency (measured medians 0.5-4.1 ms above the configured
// delay on the shared 2-core machine at load average 10-20). So a
// measured median delay may exceed the configured one by RealDelaySlack
// (and fall short of it by no more than 1 ms), and a delay's spread gets
// half of it on top of its ±10 %.
const RealDelaySlack = 5 * time.Millisecond

// CheckFidelityOn measures a real-time backend with the part of
// CheckFidelity's suite that real time allows in about a minute: random
// loss, delay, uniform jitter and a rate limit with its queue. Loss and
// the delivered rate keep their virtual-time tolerances; delays are
// judged by median and quartiles with RealDelaySlack (judgeDelayReal).
func CheckFidelityOn(seed int64, build Builder) ([]FidelityResult, error) {
	ms := time.Millisecond
	rate := rateCase(Impairment{Rate: 1_000_000, QueueDelay: 100 * ms})
	rate.judge = judgeRateReal(1_000_000, 100)
	cases := []fidelityCase{
		{name: "random loss 3%", imp: Impairment{Loss: 0.03}, packets: 10000, size: 200, interval: ms,
			judge: judgeLoss(0.03)},
		// Delays at 200 packets/s, not 1000: rtclab's process carries every
		// packet across two TUN devices, and on a loaded machine 1000/s
		// queued packets in the TUN behind a descheduled process.
		{name: "delay 40ms", imp: Impairment{Delay: 40 * ms}, packets: 1000, size: 200, interval: 5 * ms,
			judge: judgeDelayReal(40, 0, "")},
		{name: "delay 50ms, uniform jitter 10ms", imp: Impairment{Delay: 50 * ms, Jitter: 10 * ms, Reorder: true}, packets: 2000, size: 200, interval: 5 * ms,
			judge: judgeDelayReal(50, 10, JitterUniform)},
		rate,
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

// judgeDelayReal judges delays by robust statistics: real time on a
// shared machine has stalls (a descheduled process, a collection) that
// hold a few hundred packets for tens of milliseconds, which move a mean
// and a standard deviation but not the median and the quartiles. The
// median may lie from 1 ms below to RealDelaySlack above the configured
// delay; the interquartile range (uniform jitter j: j; normal σ: 1.349σ
// before truncation; both clipped at 0) within ±10 % and RealDelaySlack/2.
func judgeDelayReal(delayMS, jitterMS float64, dist string) func(fidelityCase, probeMeasure) []FidelityResult {
	slack := float64(RealDelaySlack) / float64(time.Millisecond)
	return func(c fidelityCase, m probeMeasure) []FidelityResult {
		d := delays(m)
		slices.Sort(d)
		// A packet never leaves before it was sent: the delay is
		// max(0, delay + jitter), whose quantiles are those of the
		// unclipped distribution clipped at 0.
		clip := func(x float64) float64 { return math.Max(0, x) }
		// Quartile offsets of the jitter: uniform on ±j at ±j/2, normal
		// at ±0.6745σ, half-normal (|N|) at 0.3186σ, 0.6745σ, 1.1503σ.
		q1, q2, q3 := -jitterMS/2, 0.0, jitterMS/2
		switch dist {
		case JitterNormal:
			q1, q3 = -0.6745*jitterMS, 0.6745*jitterMS
		case JitterHalfNormal:
			q1, q2, q3 = 0.3186*jitterMS, 0.6745*jitterMS, 1.1503*jitterMS
		}
		dm := clip(delayMS + q2)
		med := quantile(d, 0.5)
		r := result(c, "median delay ms", dm, med, slack, fmt.Sprintf("-1 .. +%g ms: real time adds the kernel's and the scheduler's latency", slack))
		r.Pass = med >= dm-1 && med <= dm+slack
		out := []FidelityResult{r}
		if dist != "" {
			want := clip(delayMS+q3) - clip(delayMS+q1)
			tol := want*0.1 + slack/2
			out = append(out, result(c, "delay interquartile range ms", want, quantile(d, 0.75)-quantile(d, 0.25), tol,
				fmt.Sprintf("±10%% of the %s distribution's, +%g ms of real-time noise", dist, slack/2)))
		}
		return out
	}
}

// judgeRateReal judges a rate limit in real time from what a stall
// cannot move. The probe's sender runs in rtclab's own process: when the
// machine stalls it, the link's queue drains and the link idles, so bytes
// over the whole window understate the rate. While the queue is full,
// though, packets leave one serialisation time apart, so the rate is the
// packet size over the median gap between consecutive arrivals (within
// ±5 %); and the queueing delay is read at its median, which a full
// drop-tail queue holds at the queue's length (its maximum, judged in
// virtual time, is where stalls show).
func judgeRateReal(bps, queueMS float64) func(fidelityCase, probeMeasure) []FidelityResult {
	slack := float64(RealDelaySlack) / float64(time.Millisecond)
	return func(c fidelityCase, m probeMeasure) []FidelityResult {
		at := make([]time.Time, len(m.arrivals))
		for i, a := range m.arrivals {
			at[i] = a.at
		}
		slices.SortFunc(at, time.Time.Compare)
		gaps := make([]float64, 0, len(at))
		for i := 1; i < len(at); i++ {
			gaps = append(gaps, at[i].Sub(at[i-1]).Seconds())
		}
		slices.Sort(gaps)
		wire := float64((c.size + udpOverhead) * 8)
		rate := wire / quantile(gaps, 0.5)
		r := result(c, "delivered kbit/s (median gap)", bps/1000, rate/1000, bps/1000*0.05,
			"±5%: packet size over the median gap between arrivals, while the queue is full")
		d := delays(m)
		slices.Sort(d)
		med := quantile(d, 0.5)
		serialise := wire / bps * 1000
		q := result(c, "median queueing delay ms", queueMS, med, serialise+slack,
			fmt.Sprintf("a full queue: its length, within one packet's serialisation and %g ms", slack))
		return []FidelityResult{r, q}
	}
}

// quantile of sorted xs, by linear interpolation.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (pos-float64(i))*(xs[i+1]-xs[i])
}
