package netem

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"sync"
	"time"
)

// FidelityResult compares one configured quantity with what a probe stream
// measured through the emulated link.
type FidelityResult struct {
	// Case names the impairment under test, e.g. "random loss 3%".
	Case string `json:"case"`
	// Quantity is what was compared, e.g. "loss %".
	Quantity string `json:"quantity"`
	// Configured and Measured are in the quantity's unit.
	Configured float64 `json:"configured"`
	Measured   float64 `json:"measured"`
	// Tolerance is the allowed |Measured - Configured| (for a "max"
	// quantity: the allowed excess over Configured).
	Tolerance float64 `json:"tolerance"`
	// Why explains where the tolerance comes from.
	Why string `json:"why"`
	// Pass says whether Measured is within Tolerance.
	Pass bool `json:"pass"`
}

// fidelityCase sends a probe stream through one impairment.
type fidelityCase struct {
	name     string
	imp      Impairment
	packets  int
	size     int
	interval time.Duration
	judge    func(c fidelityCase, m probeMeasure) []FidelityResult
	build    Builder // the backend; nil: New (backend.go)
}

// probeMeasure is what the receiver saw.
type probeMeasure struct {
	sent       int
	arrivals   []arrival // in arrival order
	duplicates int
}

type arrival struct {
	seq  uint32
	sent time.Time
	at   time.Time
	// bytes is the IP packet's size, headers included, as the bottleneck
	// counts it.
	bytes int
}

// CheckFidelity sends known probe streams through each kind of impairment
// and compares what arrives with what was configured. Tolerances come from
// the sample size (binomial standard error) or from the model's own
// granularity, as each result's Why says. Run it inside a synctest bubble
// (virtual time): in real time it takes minutes.
func CheckFidelity(seed int64) ([]FidelityResult, error) {
	var out []FidelityResult
	for _, c := range fidelityCases() {
		m, err := probe(seed, c)
		if err != nil {
			return out, fmt.Errorf("fidelity %s: %w", c.name, err)
		}
		out = append(out, c.judge(c, m)...)
	}
	return out, nil
}

func fidelityCases() []fidelityCase {
	ms := time.Millisecond
	return []fidelityCase{
		{name: "random loss 3%", imp: Impairment{Loss: 0.03}, packets: 10000, size: 200, interval: ms,
			judge: judgeLoss(0.03)},
		{name: "bursty loss 5%, mean burst 4", imp: Impairment{Loss: 0.05, BurstLength: 4}, packets: 20000, size: 200, interval: ms,
			judge: judgeBurst(0.05, 4)},
		{name: "delay 40ms", imp: Impairment{Delay: 40 * ms}, packets: 2000, size: 200, interval: ms,
			judge: judgeDelay(40, 0, "")},
		{name: "delay 50ms, uniform jitter 10ms", imp: Impairment{Delay: 50 * ms, Jitter: 10 * ms, Reorder: true}, packets: 10000, size: 200, interval: ms,
			judge: judgeDelay(50, 10/math.Sqrt(3), JitterUniform)},
		{name: "delay 50ms, normal jitter 10ms", imp: Impairment{Delay: 50 * ms, Jitter: 10 * ms, JitterDist: JitterNormal, Reorder: true}, packets: 10000, size: 200, interval: ms,
			judge: judgeDelay(50, 10*truncatedSD3, JitterNormal)},
		{name: "jitter 10ms without reordering", imp: Impairment{Delay: 50 * ms, Jitter: 10 * ms}, packets: 5000, size: 200, interval: ms,
			judge: judgeNoReorder},
		rateCase(Impairment{Rate: 1_000_000, QueueDelay: 100 * ms}),
		traceCase(syntheticDipTrace(), []int{2, 9, 14}), // steady 2 Mbit/s, the dip, after it
		{name: "duplication 2%", imp: Impairment{Duplicate: 0.02}, packets: 10000, size: 200, interval: ms,
			judge: judgeDuplicates(0.02)},
	}
}

// truncatedSD3 is the standard deviation of a unit normal truncated at ±3.
var truncatedSD3 = math.Sqrt(1 - 6*math.Exp(-4.5)/math.Sqrt(2*math.Pi)/(math.Erf(3/math.Sqrt2)))

// probe sends c.packets probes from a server to a client whose downlink
// has c.imp, and records what arrives.
func probe(seed int64, c fidelityCase) (probeMeasure, error) {
	build := c.build
	if build == nil {
		build = inProcess
	}
	n, err := build(Config{Seed: seed, Servers: []string{"src"}, Hosts: []HostConfig{{Name: "dst", NAT: FullCone, Downlink: c.imp}}})
	if err != nil {
		return probeMeasure{}, err
	}
	defer n.Close()
	src, _ := n.Host("src")
	dst, _ := n.Host("dst")
	sc, err := src.Net.ListenPacket("udp4", src.IP.String()+":9000")
	if err != nil {
		return probeMeasure{}, err
	}
	defer sc.Close()
	dc, err := dst.Net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		return probeMeasure{}, err
	}
	defer dc.Close()
	// Open the mapping and learn the client's public address.
	if _, err := dc.WriteTo([]byte("hello"), &net.UDPAddr{IP: src.IP, Port: 9000}); err != nil {
		return probeMeasure{}, err
	}
	buf := make([]byte, 2048)
	_, to, err := sc.ReadFrom(buf)
	if err != nil {
		return probeMeasure{}, err
	}

	var m probeMeasure
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := map[uint32]bool{}
		rb := make([]byte, 2048)
		for {
			_ = dc.SetReadDeadline(time.Now().Add(5 * time.Second))
			k, _, err := dc.ReadFrom(rb)
			if err != nil {
				return
			}
			seq := binary.BigEndian.Uint32(rb[0:4])
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(rb[4:12])))
			mu.Lock()
			if seen[seq] {
				m.duplicates++
			} else {
				seen[seq] = true
				m.arrivals = append(m.arrivals, arrival{seq: seq, sent: sent, at: time.Now(), bytes: k + udpOverhead})
			}
			mu.Unlock()
		}
	}()
	pkt := make([]byte, c.size)
	pkt[12] = 0xFF // not a STUN/DTLS/RTP first byte: one probe class
	next := time.Now()
	for i := range c.packets {
		binary.BigEndian.PutUint32(pkt[0:4], uint32(i))
		binary.BigEndian.PutUint64(pkt[4:12], uint64(time.Now().UnixNano()))
		pkt[0] |= 0 // seq's top byte is 0 for < 16M probes: class "other"
		if _, err := sc.WriteTo(pkt, to); err != nil {
			return m, err
		}
		next = next.Add(c.interval)
		time.Sleep(time.Until(next))
	}
	<-done
	m.sent = c.packets
	return m, nil
}

func result(c fidelityCase, q string, conf, meas, tol float64, why string) FidelityResult {
	return FidelityResult{Case: c.name, Quantity: q, Configured: round4(conf), Measured: round4(meas),
		Tolerance: round4(tol), Why: why, Pass: math.Abs(meas-conf) <= tol}
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func judgeLoss(p float64) func(fidelityCase, probeMeasure) []FidelityResult {
	return func(c fidelityCase, m probeMeasure) []FidelityResult {
		loss := 1 - float64(len(m.arrivals))/float64(m.sent)
		se := math.Sqrt(p * (1 - p) / float64(m.sent))
		return []FidelityResult{result(c, "loss %", p*100, loss*100, 0.5,
			fmt.Sprintf("±0.5 points ≈ %.1f binomial standard errors at n=%d", 0.5/(se*100), m.sent))}
	}
}

func judgeBurst(p, burst float64) func(fidelityCase, probeMeasure) []FidelityResult {
	return func(c fidelityCase, m probeMeasure) []FidelityResult {
		got := make([]bool, m.sent)
		for _, a := range m.arrivals {
			got[a.seq] = true
		}
		lost, bursts := 0, 0
		for i, ok := range got {
			if !ok {
				lost++
				if i == 0 || got[i-1] {
					bursts++
				}
			}
		}
		loss := float64(lost) / float64(m.sent)
		mean := float64(lost) / math.Max(1, float64(bursts))
		// Bursts make losses correlated: about n/burst independent draws.
		se := math.Sqrt(p*(1-p)/(float64(m.sent)/burst)) * 100
		return []FidelityResult{
			result(c, "loss %", p*100, loss*100, 4*se, fmt.Sprintf("4 standard errors with n/burst = %d effective draws", int(float64(m.sent)/burst))),
			result(c, "mean burst (packets)", burst, mean, burst*0.15, fmt.Sprintf("±15%%: %d bursts, geometric lengths", bursts)),
		}
	}
}

func delays(m probeMeasure) []float64 {
	out := make([]float64, len(m.arrivals))
	for i, a := range m.arrivals {
		out[i] = float64(a.at.Sub(a.sent)) / float64(time.Millisecond)
	}
	return out
}

func meanSD(xs []float64) (float64, float64) {
	var s, ss float64
	for _, x := range xs {
		s += x
	}
	mean := s / float64(len(xs))
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

func judgeDelay(delayMS, sdMS float64, dist string) func(fidelityCase, probeMeasure) []FidelityResult {
	return func(c fidelityCase, m probeMeasure) []FidelityResult {
		mean, sd := meanSD(delays(m))
		out := []FidelityResult{result(c, "mean delay ms", delayMS, mean, 1, "±1 ms")}
		if dist != "" {
			out = append(out, result(c, "delay std dev ms", sdMS, sd, sdMS*0.1,
				fmt.Sprintf("±10%% of the %s distribution's std dev", dist)))
		}
		return out
	}
}

func judgeNoReorder(c fidelityCase, m probeMeasure) []FidelityResult {
	reordered := 0
	for i := 1; i < len(m.arrivals); i++ {
		if m.arrivals[i].seq < m.arrivals[i-1].seq {
			reordered++
		}
	}
	return []FidelityResult{result(c, "packets reordered", 0, float64(reordered), 0, "a FIFO link never reorders")}
}

func judgeRate(bps float64, queueMS float64) func(fidelityCase, probeMeasure) []FidelityResult {
	return func(c fidelityCase, m probeMeasure) []FidelityResult {
		// Delivered rate over the busy period, after the queue filled.
		as := m.arrivals
		skip := len(as) / 10
		first, last := as[skip], as[len(as)-1]
		bytes := 0
		for _, a := range as[skip+1:] {
			bytes += a.bytes
		}
		rate := float64(bytes*8) / last.at.Sub(first.at).Seconds()
		maxQ := 0.0
		for _, d := range delays(m) {
			maxQ = math.Max(maxQ, d)
		}
		serialise := float64((c.size+udpOverhead)*8) / bps * 1000
		r := result(c, "max queueing delay ms", queueMS, maxQ, serialise, "never above the queue plus one packet's serialisation")
		r.Pass = maxQ <= queueMS+serialise
		return []FidelityResult{
			result(c, "delivered kbit/s", bps/1000, rate/1000, bps/1000*0.03, "±3% of the configured rate"),
			r,
		}
	}
}

// judgeTrace compares the bytes delivered in whole seconds with the
// trace's capacity in each, while the sender offers more than it can
// carry: the seconds listed, or when none are, the whole window and the
// second that deviated most.
func judgeTrace(secs []int) func(fidelityCase, probeMeasure) []FidelityResult {
	return func(c fidelityCase, m probeMeasure) []FidelityResult {
		t := c.imp.Trace
		perSec := map[int]int{}
		for _, a := range m.arrivals {
			perSec[int(a.at.Sub(m.arrivals[0].sent).Seconds())] += a.bytes
		}
		capacity := func(sec int) float64 {
			return float64(t.CapacityBytes(time.Duration(sec)*time.Second, time.Duration(sec+1)*time.Second)) * 8 / 1000
		}
		const why = "±3% of the trace's capacity in that second, and one packet"
		tol := func(want float64) float64 { return want*0.03 + mtu*8/1000 }
		var out []FidelityResult
		for _, sec := range secs {
			want, got := capacity(sec), float64(perSec[sec]*8)/1000
			out = append(out, result(c, fmt.Sprintf("kbit/s in second %d", sec), want, got, tol(want), why))
		}
		if len(secs) > 0 {
			return out
		}
		// The probe lasts c.packets*c.interval; judge every whole second
		// after the first (the queue fills) and before the last.
		last := int((time.Duration(c.packets) * c.interval).Seconds()) - 1
		var sumWant, sumGot float64
		worst, worstDev := 1, -1.0
		for sec := 1; sec < last; sec++ {
			want, got := capacity(sec), float64(perSec[sec]*8)/1000
			sumWant += want
			sumGot += got
			if d := math.Abs(got-want) - tol(want); d > worstDev {
				worst, worstDev = sec, d
			}
		}
		n := float64(max(1, last-1))
		want := capacity(worst)
		return []FidelityResult{
			result(c, fmt.Sprintf("mean kbit/s, seconds 1-%d", last-1), sumWant/n, sumGot/n, sumWant/n*0.03, "±3% of the trace's mean capacity"),
			result(c, fmt.Sprintf("kbit/s in second %d (worst)", worst), want, float64(perSec[worst]*8)/1000, tol(want), why),
		}
	}
}

func judgeDuplicates(p float64) func(fidelityCase, probeMeasure) []FidelityResult {
	return func(c fidelityCase, m probeMeasure) []FidelityResult {
		got := float64(m.duplicates) / float64(m.sent)
		se := math.Sqrt(p * (1 - p) / float64(m.sent))
		return []FidelityResult{result(c, "duplicated %", p*100, got*100, 4*se*100, "4 binomial standard errors")}
	}
}

// rateCase offers twice the rate in 1250-byte IP packets for 20 s.
func rateCase(imp Impairment) fidelityCase {
	const wire = 1250
	interval := time.Duration(float64(wire*8) / float64(2*imp.Rate) * float64(time.Second))
	queueMS := float64(imp.queueLimit()*8) / float64(imp.Rate) * 1000
	return fidelityCase{name: fmt.Sprintf("rate %s, queue %gms, offered %s", kbps(imp.Rate), math.Round(queueMS), kbps(2*imp.Rate)),
		imp: imp, packets: int(20 * time.Second / interval), size: wire - udpOverhead, interval: interval,
		judge: judgeRate(float64(imp.Rate), queueMS)}
}

// traceCase offers a quarter more than the trace's busiest second in
// 1500-byte IP packets, one delivery opportunity each, for the trace's
// period (at least 5 s, at most 60 s).
func traceCase(t *Trace, secs []int) fidelityCase {
	period := min(max(t.Period(), 5*time.Second), time.Minute)
	busiest := int64(0)
	for sec := time.Duration(0); sec < period; sec += time.Second {
		busiest = max(busiest, t.first(sec+time.Second)-t.first(sec))
	}
	interval := time.Duration(float64(time.Second) / (1.25 * float64(max(busiest, int64(1)))))
	return fidelityCase{name: "trace " + t.Name, imp: Impairment{Trace: t}, packets: int(period / interval),
		size: mtu - udpOverhead, interval: interval, judge: judgeTrace(secs)}
}

// clippedMoments is the mean and standard deviation of delay + jitter,
// uniform on ±jitter, normal with σ = jitter truncated at ±3σ, or the
// absolute value of that normal (half-normal), clipped below at 0, by
// numerical integration.
func clippedMoments(delay, jitter float64, dist string) (mean, sd float64) {
	if jitter == 0 {
		return delay, 0
	}
	normal := dist == JitterNormal || dist == JitterHalfNormal
	lo, hi := -1.0, 1.0
	if normal {
		lo, hi = -3, 3
	}
	const steps = 20000
	var w, s, ss float64
	for i := range steps {
		z := lo + (hi-lo)*(float64(i)+0.5)/steps
		p := 1.0
		if normal {
			p = math.Exp(-z * z / 2)
		}
		if dist == JitterHalfNormal {
			z = math.Abs(z)
		}
		x := math.Max(0, delay+z*jitter)
		w += p
		s += p * x
		ss += p * x * x
	}
	mean = s / w
	return mean, math.Sqrt(math.Max(0, ss/w-mean*mean))
}

func kbps(bps int64) string {
	if bps >= 1_000_000 && bps%1_000_000 == 0 {
		return fmt.Sprintf("%dMbps", bps/1_000_000)
	}
	return fmt.Sprintf("%gkbps", float64(bps)/1000)
}

// CheckLink measures a user's link the way CheckFidelity measures the
// built-in cases: one probe stream per part of imp (loss, delay and
// jitter, rate or trace, duplication), each through that part alone, so
// every measured quantity has a tolerance of its own. Run it inside a
// synctest bubble.
func CheckLink(seed int64, imp Impairment) ([]FidelityResult, error) {
	return checkLink(seed, imp, nil)
}

func checkLink(seed int64, imp Impairment, build Builder) ([]FidelityResult, error) {
	if err := imp.Validate(); err != nil {
		return nil, err
	}
	var cases []fidelityCase
	ms := time.Millisecond
	pct := func(f float64) string { return fmt.Sprintf("%g%%", math.Round(f*1e4)/100) }
	switch {
	case imp.Loss > 0 && imp.BurstLength > 1:
		cases = append(cases, fidelityCase{name: fmt.Sprintf("bursty loss %s, mean burst %g", pct(imp.Loss), imp.BurstLength),
			imp: Impairment{Loss: imp.Loss, BurstLength: imp.BurstLength}, packets: 20000, size: 200, interval: ms, judge: judgeBurst(imp.Loss, imp.BurstLength)})
	case imp.Loss > 0:
		cases = append(cases, fidelityCase{name: "random loss " + pct(imp.Loss), imp: Impairment{Loss: imp.Loss},
			packets: 10000, size: 200, interval: ms, judge: judgeLoss(imp.Loss)})
	}
	if imp.Delay > 0 || imp.Jitter > 0 {
		d := Impairment{Delay: imp.Delay, Jitter: imp.Jitter, JitterDist: imp.JitterDist, Reorder: imp.Reorder}
		dist := ""
		switch {
		case imp.Jitter > 0 && (imp.JitterDist == JitterNormal || imp.JitterDist == JitterHalfNormal):
			dist = imp.JitterDist
		case imp.Jitter > 0:
			dist = JitterUniform
		}
		// A packet never leaves before it was sent: with jitter above the
		// delay the distribution is clipped at 0, and so are its moments.
		delay, sd := clippedMoments(float64(imp.Delay)/float64(ms), float64(imp.Jitter)/float64(ms), dist)
		judge := judgeDelay(delay, sd, dist)
		if build != nil { // real time (backend.go)
			judge = judgeDelayReal(float64(imp.Delay)/float64(ms), float64(imp.Jitter)/float64(ms), dist)
		}
		if imp.Jitter > 0 && !imp.Reorder {
			// FIFO: also check the order. The probes are further apart
			// than the jitter's whole range (below), so none waits for the
			// one ahead and the delay keeps its configured distribution.
			delayJudge := judge
			judge = func(c fidelityCase, m probeMeasure) []FidelityResult {
				return append(delayJudge(c, m), judgeNoReorder(c, m)...)
			}
		}
		name := fmt.Sprintf("delay %v", imp.Delay)
		if imp.Jitter > 0 {
			name += fmt.Sprintf(", %s jitter %v", cmp.Or(imp.JitterDist, JitterUniform), imp.Jitter)
			if !imp.Reorder {
				name += " without reordering"
			}
		}
		// Normal jitter spans ±3σ: 7σ apart, no probe waits on a FIFO link.
		interval := max(ms, 7*imp.Jitter)
		cases = append(cases, fidelityCase{name: name, imp: d, packets: 5000, size: 200, interval: interval, judge: judge})
	}
	if imp.Rate > 0 {
		c := rateCase(Impairment{Rate: imp.Rate, QueueBytes: imp.QueueBytes, QueueDelay: imp.QueueDelay})
		if build != nil { // real time (backend.go)
			c.judge = judgeRateReal(float64(imp.Rate), float64(c.imp.queueLimit()*8)/float64(imp.Rate)*1000)
		}
		cases = append(cases, c)
	}
	if imp.Trace != nil {
		c := traceCase(imp.Trace, nil)
		c.imp.QueueBytes, c.imp.QueueDelay = imp.QueueBytes, imp.QueueDelay
		cases = append(cases, c)
	}
	if imp.Duplicate > 0 {
		cases = append(cases, fidelityCase{name: "duplication " + pct(imp.Duplicate), imp: Impairment{Duplicate: imp.Duplicate},
			packets: 10000, size: 200, interval: ms, judge: judgeDuplicates(imp.Duplicate)})
	}
	var out []FidelityResult
	for _, c := range cases {
		c.build = build
		if build != nil {
			// Real time: at most 30 s of probes per case.
			c.packets = min(c.packets, int(30*time.Second/c.interval))
		}
		m, err := probe(seed, c)
		if err != nil {
			return out, fmt.Errorf("check %s: %w", c.name, err)
		}
		out = append(out, c.judge(c, m)...)
	}
	return out, nil
}

// syntheticDipTrace is the shipped dip-2m-300k trace, built in code so
// netem's own check does not depend on files.
func syntheticDipTrace() *Trace {
	t := &Trace{Name: "dip-2m-300k (synthetic)"}
	credit := 0.0
	for ms := int64(0); ms < 20000; ms++ {
		bps := 2_000_000.0
		if ms >= 8000 && ms < 12000 {
			bps = 300_000
		}
		credit += bps / 8 / mtu / 1000
		for credit >= 1 {
			t.opps = append(t.opps, ms+1)
			credit--
		}
	}
	t.period = 20000
	return t
}
