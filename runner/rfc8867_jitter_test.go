package runner

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rtclab/rtclab/verify"
)

// TestRFC8867JitterOneSided measures, from the run's captures, the packet
// delay variation the RFC 8867 cases put on their delayed links, against
// RFC 8868 section 4.5: the delay is the propagation delay plus z(n) =
// |max(min(N(0, std²), N_STD·std), -N_STD·std)| with std 5 ms and N_STD 3
// (section 4.5.3), so every packet takes 50 to 65 ms, on average 50 +
// 5·0.797 = 53.99 ms, and no packet overtakes another (NR-RPVD, section
// 4.5.2). The feedback path of 5.1 (the receiver's uplink: 50 ms and the
// jitter, nothing else) gives the distribution; the forward path, dense
// video through the bottleneck queue and the jittered downlink, gives
// the order. The old scenarios' symmetric normal jitter put packets
// 35 to 65 ms apart around a 50 ms mean: the minimum and the mean fail.
func TestRFC8867JitterOneSided(t *testing.T) {
	s := mustLoad(t, "rfc8867/5.1")
	s.Duration.Duration = 10 * time.Second
	for i := range s.FlowInstances {
		s.FlowInstances[i].StopAt = s.Duration.Duration
	}
	dir := t.TempDir()
	if _, err := runVirtual(t, s, Options{CaptureDir: dir}); err != nil {
		t.Fatal(err)
	}
	read := func(host string) []verify.Datagram {
		f, err := os.Open(filepath.Join(dir, host+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ds, err := verify.ReadPcap(f)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	sender, receiver := read("sender"), read("receiver")
	// pairs matches each datagram sent by from (in its own capture) with
	// its arrival in to's capture, by addresses and payload, in send order.
	type pair struct{ sent, at time.Time }
	pairs := func(from, to []verify.Datagram, src netip.Addr) []pair {
		type key struct {
			src, dst netip.AddrPort
			payload  string
		}
		arrived := map[key][]time.Time{}
		for _, d := range to {
			if d.Src.Addr() == src {
				k := key{d.Src, d.Dst, string(d.Payload)}
				arrived[k] = append(arrived[k], d.At)
			}
		}
		var out []pair
		for _, d := range from {
			k := key{d.Src, d.Dst, string(d.Payload)}
			if d.Src.Addr() != src || len(arrived[k]) == 0 {
				continue
			}
			out = append(out, pair{d.At, arrived[k][0]})
			arrived[k] = arrived[k][1:]
		}
		return out
	}
	if len(sender) == 0 || len(receiver) == 0 {
		t.Fatalf("captures: %d and %d datagrams", len(sender), len(receiver))
	}
	// Each capture holds both directions; the sender's address is the
	// source of a datagram the sender's capture saw before the
	// receiver's did.
	var senderIP, receiverIP netip.Addr
	for _, d := range receiver {
		if string(d.Payload) == string(sender[0].Payload) {
			senderIP, receiverIP = sender[0].Src.Addr(), sender[0].Dst.Addr()
			if d.At.Before(sender[0].At) {
				senderIP, receiverIP = receiverIP, senderIP
			}
			break
		}
	}
	if !senderIP.IsValid() {
		t.Fatal("the sender's first datagram is not in the receiver's capture")
	}

	const (
		delayMS = 50.0
		std     = 5.0
		nSTD    = 3.0
	)
	// E[min(|Z|, 3)] for a standard normal Z, and its standard deviation.
	q3 := math.Erfc(nSTD/math.Sqrt2) / 2 // P(Z > 3)
	ez := math.Sqrt(2/math.Pi)*(1-math.Exp(-nSTD*nSTD/2)) + 2*nSTD*q3
	ez2 := (math.Erf(nSTD/math.Sqrt2) - 2*nSTD*math.Exp(-nSTD*nSTD/2)/math.Sqrt(2*math.Pi)) + 2*nSTD*nSTD*q3
	sdZ := math.Sqrt(ez2 - ez*ez)

	back := pairs(receiver, sender, receiverIP)
	if len(back) < 100 {
		t.Fatalf("%d feedback datagrams matched, want at least 100", len(back))
	}
	var ds []float64
	for _, p := range back {
		ds = append(ds, float64(p.at.Sub(p.sent))/float64(time.Millisecond))
	}
	lo, hi := slices.Min(ds), slices.Max(ds)
	if lo < delayMS || hi > delayMS+nSTD*std+0.01 {
		t.Errorf("feedback delays %.3f..%.3f ms, want within [%g, %g] (RFC 8868 section 4.5.3: one-sided, at most N_STD·std)", lo, hi, delayMS, delayMS+nSTD*std)
	}
	avg := mean(ds)
	want := delayMS + std*ez
	tol := 4 * std * sdZ / math.Sqrt(float64(len(ds)))
	if math.Abs(avg-want) > tol {
		t.Errorf("mean feedback delay %.3f ms over %d datagrams, want %.3f ± %.3f (50 ms + 5 ms·E|Z| clamped at 3)", avg, len(ds), want, tol)
	}

	fwd := pairs(sender, receiver, senderIP)
	if len(fwd) < 500 {
		t.Fatalf("%d forward datagrams matched, want at least 500", len(fwd))
	}
	closeCalls := 0 // packets sent within the jitter's range of the one before
	for i := 1; i < len(fwd); i++ {
		if fwd[i].at.Before(fwd[i-1].at) {
			t.Fatalf("datagram %d sent at %v arrived before the one sent before it (%v < %v): reordered (RFC 8868 section 4.5.2)", i, fwd[i].sent, fwd[i].at, fwd[i-1].at)
		}
		if fwd[i].sent.Sub(fwd[i-1].sent) < time.Duration(nSTD*std*float64(time.Millisecond)) {
			closeCalls++
		}
	}
	// The order check means something only where jitter could reorder.
	if closeCalls < len(fwd)/2 {
		t.Errorf("only %d of %d forward datagrams sent within 15 ms of the one before: the order check proves little", closeCalls, len(fwd))
	}
	t.Logf("feedback: %d datagrams, %.3f..%.3f ms, mean %.3f (RFC: %.3f); forward: %d in order", len(ds), lo, hi, avg, want, len(fwd))
}
