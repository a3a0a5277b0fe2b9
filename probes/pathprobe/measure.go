package pathprobe

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// Sample is one answered probe.
type Sample struct {
	// AtMs is when the probe was sent, from the start of the measurement.
	AtMs float64 `json:"at_ms"`
	// RTTMs is its round-trip time.
	RTTMs float64 `json:"rtt_ms"`
}

// PingResult is the outcome of paced probes.
type PingResult struct {
	// Sent and Received count probes.
	Sent     int `json:"sent"`
	Received int `json:"received"`
	// LossPct is the share of probes not answered within a second, in %.
	LossPct float64 `json:"loss_pct"`
	// RTTMs is the median round-trip time; RTTP95Ms the 95th percentile.
	RTTMs    float64 `json:"rtt_ms"`
	RTTP95Ms float64 `json:"rtt_p95_ms"`
	// JitterMs is the RFC 3550 §6.4.1 estimator (J += (|D| - J)/16) over
	// the differences D of consecutive round-trip times.
	JitterMs float64 `json:"jitter_ms"`
	// Samples are the answered probes in send order.
	Samples []Sample `json:"samples"`
}

// PingParams paces the probes.
type PingParams struct {
	// Interval between probes; 0 means 20 ms (one audio frame).
	Interval time.Duration
	// Duration of sending; 0 means 3 s.
	Duration time.Duration
	// Size of a probe in bytes (at least 16); 0 means 160 (20 ms of G.711).
	Size int
}

// lateAfter is how long a probe may take to come back before it counts as lost.
const lateAfter = time.Second

// Ping sends paced probes on the unreliable echo channel.
func (c *Conn) Ping(ctx context.Context, p PingParams) (PingResult, error) {
	if p.Interval <= 0 {
		p.Interval = 20 * time.Millisecond
	}
	if p.Duration <= 0 {
		p.Duration = 3 * time.Second
	}
	if p.Size < 16 {
		p.Size = 160
	}
	run := rand.Uint32()
	start := time.Now()
	var (
		res   PingResult
		sent  []time.Time
		rtts  = map[uint32]time.Duration{}
		tick  = time.NewTicker(p.Interval)
		stop  = time.NewTimer(p.Duration)
		sendN = true
	)
	defer tick.Stop()
	defer stop.Stop()
	buf := make([]byte, p.Size)
	binary.BigEndian.PutUint32(buf[0:4], run)
	send := func() error {
		binary.BigEndian.PutUint32(buf[4:8], uint32(len(sent)))
		sent = append(sent, time.Now())
		return c.echo.Send(buf)
	}
	if err := send(); err != nil {
		return res, fmt.Errorf("ping: %w", err)
	}
	var late <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return summarize(res, sent, rtts, start), ctx.Err()
		case <-tick.C:
			if sendN {
				if err := send(); err != nil {
					return summarize(res, sent, rtts, start), fmt.Errorf("ping: %w", err)
				}
			}
		case <-stop.C:
			sendN = false
			late = time.After(lateAfter)
		case <-late:
			return summarize(res, sent, rtts, start), nil
		case m := <-c.echoIn:
			if len(m.Data) < 8 || binary.BigEndian.Uint32(m.Data[0:4]) != run {
				continue
			}
			seq := binary.BigEndian.Uint32(m.Data[4:8])
			if int(seq) >= len(sent) {
				continue
			}
			if _, dup := rtts[seq]; !dup {
				rtts[seq] = time.Since(sent[seq])
			}
			if !sendN && len(rtts) == len(sent) {
				return summarize(res, sent, rtts, start), nil
			}
		}
	}
}

func summarize(res PingResult, sent []time.Time, rtts map[uint32]time.Duration, start time.Time) PingResult {
	res.Sent, res.Received = len(sent), len(rtts)
	if res.Sent > 0 {
		res.LossPct = 100 * float64(res.Sent-res.Received) / float64(res.Sent)
	}
	var (
		all    []float64
		jitter float64
		prev   = math.NaN()
	)
	for seq := range sent {
		d, ok := rtts[uint32(seq)]
		if !ok {
			continue
		}
		ms := float64(d.Microseconds()) / 1000
		res.Samples = append(res.Samples, Sample{AtMs: float64(sent[seq].Sub(start).Microseconds()) / 1000, RTTMs: ms})
		all = append(all, ms)
		if !math.IsNaN(prev) {
			jitter += (math.Abs(ms-prev) - jitter) / 16
		}
		prev = ms
	}
	res.JitterMs = round3(jitter)
	if len(all) > 0 {
		sort.Float64s(all)
		res.RTTMs = round3(percentile(all, 50))
		res.RTTP95Ms = round3(percentile(all, 95))
	}
	return res
}

// percentile of sorted values, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Rate is throughput over one interval.
type Rate struct {
	// AtMs is the end of the interval, from the start of the transfer.
	AtMs float64 `json:"at_ms"`
	// Mbps is the throughput over the interval.
	Mbps float64 `json:"mbps"`
}

// BandwidthResult is one direction's throughput.
type BandwidthResult struct {
	// Mbps is the mean goodput (data channel payload) over the transfer.
	Mbps float64 `json:"mbps"`
	// Bytes is the payload delivered.
	Bytes int64 `json:"bytes"`
	// Ms is the time the bytes took, first to last.
	Ms float64 `json:"ms"`
	// Series is the throughput every ~100 ms.
	Series []Rate `json:"series"`
}

const (
	chunk     = 16 * 1024
	highWater = 1 << 20
	lowWater  = 256 * 1024
)

// Upload sends as fast as the reliable sink channel drains for d and reads
// the peer's "rx BYTES MS" reports.
func (c *Conn) Upload(ctx context.Context, d time.Duration) (BandwidthResult, error) {
	var res BandwidthResult
	drained := make(chan struct{}, 1)
	c.sink.SetBufferedAmountLowThreshold(lowWater)
	c.sink.OnBufferedAmountLow(func() {
		select {
		case drained <- struct{}{}:
		default:
		}
	})
	buf := make([]byte, chunk)
	end := time.NewTimer(d)
	defer end.Stop()
	var lastBytes int64
	var lastMs float64
	record := func(m webrtc.DataChannelMessage) {
		f := strings.Fields(string(m.Data))
		if len(f) != 3 || f[0] != "rx" {
			return
		}
		n, err1 := strconv.ParseInt(f[1], 10, 64)
		ms, err2 := strconv.ParseFloat(f[2], 64)
		// The peer's text is outside input: NaN passed ms <= lastMs.
		if err1 != nil || err2 != nil || math.IsNaN(ms) || math.IsInf(ms, 0) || ms <= lastMs || n < lastBytes {
			return
		}
		res.Series = append(res.Series, Rate{AtMs: ms, Mbps: round3(float64(n-lastBytes) * 8 / (ms - lastMs) / 1000)})
		lastBytes, lastMs = n, ms
	}
	// Reports of an earlier transfer on this channel would be stale.
	for len(c.sinkIn) > 0 {
		<-c.sinkIn
	}
	sending := true
	var tail <-chan time.Time
	for {
		for sending && c.sink.BufferedAmount() < highWater {
			if err := c.sink.Send(buf); err != nil {
				return res, fmt.Errorf("upload: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return finish(res, lastBytes, lastMs), ctx.Err()
		case <-drained:
		case m := <-c.sinkIn:
			record(m)
		case <-end.C:
			sending = false
			tail = time.After(250 * time.Millisecond) // the next reports
		case <-tail:
			return finish(res, lastBytes, lastMs), nil
		}
	}
}

func finish(res BandwidthResult, bytes int64, ms float64) BandwidthResult {
	res.Bytes, res.Ms = bytes, ms
	if ms > 0 {
		res.Mbps = round3(float64(bytes) * 8 / ms / 1000)
	}
	return res
}

// Download asks the peer's source channel to send for d and counts.
func (c *Conn) Download(ctx context.Context, d time.Duration) (BandwidthResult, error) {
	var res BandwidthResult
	for len(c.srcIn) > 0 {
		<-c.srcIn
	}
	if err := c.source.SendText(fmt.Sprintf("send %d", d.Milliseconds())); err != nil {
		return res, fmt.Errorf("download: %w", err)
	}
	giveUp := time.NewTimer(d + 2*time.Second)
	defer giveUp.Stop()
	var (
		first, last time.Time
		total       int64
		binStart    time.Time
		binBytes    int64
	)
	flush := func(now time.Time) {
		if binStart.IsZero() {
			return
		}
		if mbps, ok := binMbps(binBytes, now.Sub(binStart)); ok {
			res.Series = append(res.Series, Rate{AtMs: float64(now.Sub(first).Microseconds()) / 1000, Mbps: mbps})
		}
		binStart, binBytes = now, 0
	}
	for {
		select {
		case <-ctx.Done():
			return finish(res, total, msBetween(first, last)), ctx.Err()
		case <-giveUp.C:
			return finish(res, total, msBetween(first, last)), nil
		case m := <-c.srcIn:
			now := time.Now()
			if m.IsString {
				if strings.HasPrefix(string(m.Data), "end ") {
					flush(now)
					return finish(res, total, msBetween(first, last)), nil
				}
				continue
			}
			if first.IsZero() {
				first, binStart = now, now
			}
			last = now
			total += int64(len(m.Data))
			binBytes += int64(len(m.Data))
			if now.Sub(binStart) >= 100*time.Millisecond {
				flush(now)
			}
		}
	}
}

// minBin is the shortest bin of the download series: the last bin ends
// when the sender's "end" message arrives, which can be a few hundred
// nanoseconds after the bin before it closed. Its rate was divided by a
// whole number of microseconds, 0: +Inf or NaN, which JSON cannot carry
// (rtclab diagnose --json failed; TestNetnsDiagnose's helper exited 1).
const minBin = time.Millisecond

// binMbps is the rate of bytes received in a bin of length d, and false
// for a bin shorter than minBin (its bytes still count in the total).
func binMbps(bytes int64, d time.Duration) (float64, bool) {
	if d < minBin {
		return 0, false
	}
	return round3(float64(bytes) * 8 / d.Seconds() / 1e6), true
}

func msBetween(a, b time.Time) float64 {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return float64(b.Sub(a).Microseconds()) / 1000
}
