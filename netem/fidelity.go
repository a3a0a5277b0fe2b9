package netem

import (
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
}

// probeMeasure is what the receiver saw.
type probeMeasure struct {
	sent       int
	arrivals   []arrival // in arrival order
	duplicates int
}

type arrival struct {
	seq   uint32
	sent  time.Time
	at    time.Time
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
		{name: "rate 1Mbps, queue 100ms, offered 2Mbps", imp: Impairment{Rate: 1_000_000, QueueDelay: 100 * ms}, packets: 10000, size: 1250, interval: 5 * ms,
			judge: judgeRate(1_000_000, 100)},
		{name: "trace dip-2m-300k (synthetic)", imp: Impairment{Trace: syntheticDipTrace()}, packets: 8000, size: 1500, interval: 2500 * time.Microsecond,
			judge: judgeTrace},
		{name: "duplication 2%", imp: Impairment{Duplicate: 0.02}, packets: 10000, size: 200, interval: ms,
			judge: judgeDuplicates(0.02)},
	}
}

// truncatedSD3 is the standard deviation of a unit normal truncated at ±3.
var truncatedSD3 = math.Sqrt(1 - 6*math.Exp(-4.5)/math.Sqrt(2*math.Pi)/(math.Erf(3/math.Sqrt2)))

// probe sends c.packets probes from a server to a client whose downlink
// has c.imp, and records what arrives.
func probe(seed int64, c fidelityCase) (probeMeasure, error) {
	n, err := New(Config{Seed: seed, Servers: []string{"src"}, Hosts: []HostConfig{{Name: "dst", NAT: FullCone, Downlink: c.imp}}})
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
				m.arrivals = append(m.arrivals, arrival{seq: seq, sent: sent, at: time.Now(), bytes: k})
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
		serialise := float64(c.size*8) / bps * 1000
		r := result(c, "max queueing delay ms", queueMS, maxQ, serialise, "never above the queue plus one packet's serialisation")
		r.Pass = maxQ <= queueMS+serialise
		return []FidelityResult{
			result(c, "delivered kbit/s", bps/1000, rate/1000, bps/1000*0.03, "±3% of the configured rate"),
			r,
		}
	}
}

func judgeTrace(c fidelityCase, m probeMeasure) []FidelityResult {
	// Capacity per 1 s window, from the trace, against delivery while
	// the sender offers more than the trace can carry.
	t := c.imp.Trace
	perSec := map[int]int{}
	for _, a := range m.arrivals {
		perSec[int(a.at.Sub(m.arrivals[0].sent).Seconds())] += a.bytes
	}
	var out []FidelityResult
	for _, sec := range []int{2, 9, 14} { // steady 2 Mbit/s, the dip, after it
		want := float64(t.first(time.Duration(sec+1)*time.Second)-t.first(time.Duration(sec)*time.Second)) * mtu * 8 / 1000
		got := float64(perSec[sec]*8) / 1000
		out = append(out, result(c, fmt.Sprintf("kbit/s in second %d", sec), want, got, want*0.03, "±3% of the trace's capacity in that second"))
	}
	return out
}

func judgeDuplicates(p float64) func(fidelityCase, probeMeasure) []FidelityResult {
	return func(c fidelityCase, m probeMeasure) []FidelityResult {
		got := float64(m.duplicates) / float64(m.sent)
		se := math.Sqrt(p * (1 - p) / float64(m.sent))
		return []FidelityResult{result(c, "duplicated %", p*100, got*100, 4*se*100, "4 binomial standard errors")}
	}
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
